from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chatapp.accounts.auth import AuthenticatedHttpRequest
from chatapp.accounts.keys import resolve_api_key
from chatapp.accounts.models import User
from chatapp.attachments.models import Attachment
from chatapp.attachments.services import MAX_FILES_PER_MESSAGE
from chatapp.chat.models import Message
from chatapp.chat.selectors import conversation_find
from chatapp.core.periods import local_today, next_month_start
from chatapp.usage import exports
from chatapp.usage.budgets import budget_status
from chatapp.usage.chart import chart_svg, spend_chart
from chatapp.usage.estimate import cost_estimate, estimate_data, with_budget
from chatapp.usage.forms import CostFilterForm, default_filters
from chatapp.usage.selectors import (
    OTHER,
    Filters,
    usage_by_model,
    usage_by_user,
    usage_cards,
    usage_cost_unknown,
    usage_daily,
    usage_deleted,
    usage_model_names,
    usage_month_by_model,
    usage_top_conversations,
    usage_user_replies,
)

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous people go to the log-in page; signed-in people who are not staff get 403."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("The cost dashboard is for staff.")
        return view(request, *args, **kwargs)

    return wrapper


def _filters(request: HttpRequest) -> tuple[CostFilterForm, Filters]:
    form = CostFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, form.filters()
    return form, default_filters()


def dashboard_data(filters: Filters, *, by: str) -> dict[str, Any]:
    """Return every figure of the dashboard; the page and the CSV both render this."""
    names, per_day = usage_daily(filters, by=by)
    users, user_count = usage_by_user(filters)
    return {
        "filters": filters,
        "by": by,
        "cards": usage_cards(filters),
        "deleted": usage_deleted(filters),
        "cost_unknown": usage_cost_unknown(filters),
        "series": names,
        "per_day": per_day,
        "users": users,
        "user_count": user_count,
        "models": usage_by_model(filters),
        "conversations": usage_top_conversations(filters),
    }


@require_GET
@staff_required
def costs(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    data = dashboard_data(filters, by=form.chart_by if form.is_bound else "model")
    chart = spend_chart(
        days=filters.days, names=data["series"], per_day=data["per_day"], other=OTHER
    )
    stacked = "by who paid" if data["by"] == "payer" else "by model"
    span = f"{filters.start:%-d %b %Y} to {filters.end:%-d %b %Y}"
    # One reverse() for the page rather than one per user row.
    link = reverse("usage:user_replies", args=[0]).removesuffix("0/")
    data.update(
        chart=chart,
        chart_svg=chart_svg(chart, title=f"Spend per day {stacked}, {span}"),
        form=form,
        user_link=link,
        query=_query(request, drop=("page",)),
        query_without_by=_query(request, drop=("page", "by")),
        range_query=urlencode(_range_params(filters)),
        card_labels=list(exports.CARD_LABELS.items()),
        time_zone=settings.TIME_ZONE,
        model_names=usage_model_names(filters),
        filtered_user=User.objects.filter(pk=filters.user_id).first() if filters.user_id else None,
    )
    return render(request, "usage/costs.html", data)


@require_GET
@staff_required
def costs_csv(request: HttpRequest) -> HttpResponse:
    table = request.GET.get("table", "users")
    if table not in exports.TABLES:
        raise Http404("No such table.")
    form, filters = _filters(request)
    data = dashboard_data(filters, by=form.chart_by if form.is_bound else "model")
    name = f"costs-{table}-{filters.start}-{filters.end}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    _write_csv(response, exports.TABLES[table](data))
    return response


def _write_csv(response: HttpResponse, rows: Iterable[list[str]]) -> None:
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([exports.spreadsheet_safe(cell) for cell in row])


@require_GET
@staff_required
def user_replies(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    form, filters = _filters(request)
    filters = Filters(start=filters.start, end=filters.end, user_id=person.pk, model=filters.model)
    cards = usage_cards(filters)
    paginator = Paginator(usage_user_replies(filters, user_id=person.pk), 50)
    # The rollup already counted these rows; counting them again would scan them all.
    paginator.count = cards["range"].replies
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "usage/user_replies.html",
        {
            "person": person,
            "form": form,
            "filters": filters,
            "page": page,
            "cards": cards,
            "query": _query(request, drop=("page",)),
            "time_zone": settings.TIME_ZONE,
        },
    )


def _query(request: HttpRequest, *, drop: tuple[str, ...]) -> str:
    params = request.GET.copy()
    for name in drop:
        params.pop(name, None)
    return params.urlencode()


def _range_params(filters: Filters) -> dict[str, str]:
    params = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.model:
        params["model"] = filters.model
    return params


@require_GET
@login_required
def my_usage(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    total, models = usage_month_by_model(user_id=user.pk)
    budgets = [
        status
        for paid_by in (Message.PaidBy.OPERATOR, Message.PaidBy.USER)
        if (status := budget_status(user=user, paid_by=paid_by)) is not None
    ]
    return render(
        request,
        "usage/my_usage.html",
        {
            "total": total,
            "models": models,
            "budgets": budgets,
            "month_start": local_today().replace(day=1),
            "resets_on": next_month_start(local_today()),
        },
    )


@require_POST
@login_required
def estimate(request: AuthenticatedHttpRequest) -> JsonResponse:
    """What the draft in the composer would cost if sent now (the page asks as people type)."""
    try:
        body = json.loads(request.body or b"{}")
        conversation_id, parent_id = body.get("conversation"), body.get("parent")
        model_id, draft = str(body["model"]), str(body.get("draft") or "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return JsonResponse({"error": "Send {model, draft, conversation, parent}."}, status=400)
    conversation = None
    if conversation_id is not None:
        conversation = conversation_find(user=request.user, pk=_int(conversation_id))
        if conversation is None:
            return JsonResponse({"error": "No such conversation."}, status=404)
    found = cost_estimate(
        conversation=conversation,
        owner=request.user,
        model_id=model_id,
        parent_id=_int(parent_id) if parent_id is not None else None,
        draft=draft[:MAX_DRAFT],
        web_search=body.get("web_search") if isinstance(body.get("web_search"), bool) else None,
        attachments=_attachments(request.user, body.get("attachments")),
    )
    key = resolve_api_key(request.user)
    found = with_budget(found, user=request.user, paid_by=key.paid_by if key else None)
    return JsonResponse(estimate_data(found))


MAX_DRAFT = 32_000


def _attachments(user: User, ids: Any) -> list[Attachment]:
    """The person's own attachments among `ids` (the composer's chips), in that order."""
    if not isinstance(ids, list):
        return []
    wanted = [i for i in ids[:MAX_FILES_PER_MESSAGE] if isinstance(i, int)]
    rows = {a.pk: a for a in Attachment.objects.filter(owner=user, pk__in=wanted)}
    return [rows[i] for i in wanted if i in rows]


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
