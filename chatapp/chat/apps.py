from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chatapp.chat"

    def ready(self) -> None:
        # Inside ready(): signals imports models, which Django loads only after every app's
        # config; importing it at the top of this module would load them too early.
        from chatapp.chat import signals  # noqa: F401, PLC0415 - closes sockets on sign-out
