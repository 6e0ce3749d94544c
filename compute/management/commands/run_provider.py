"""Run a local provider: a real Triton Inference Server (nvidia-pytriton) serving the demo models,
registered as a node of a provider account, until SIGTERM or Ctrl-C.

    manage.py run_provider [--email provider@agora.local] [--name NAME] [--host 127.0.0.1]
                           [--http-port 8101] [--grpc-port 8102] [--metrics-port 8103]
                           [--public-url URL] [--gpu "CPU"] [--region local]

Ports default to $PROVIDER_HTTP_PORT / $PROVIDER_GRPC_PORT / $PROVIDER_METRICS_PORT, else 8101 and
the next two. The node is registered (or, when the account already has a node at that URL,
updated) through compute's node service, which checks Triton's readiness and each served model's
metadata against the listing versions that declare it, as `POST /api/v1/nodes` does
(compute.services.local_provider: on a build without the node registry it serves unregistered).
On stop Triton is shut down cleanly (its process and workspace); the node stays registered and
the health probes see it go down.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from compute.demo_models.server import serve_until_stopped, stop_event_on_signals
from compute.demo_models.serving import TritonPorts, triton_start
from compute.services.local_provider import local_node_register
from core.exceptions import ApplicationError
from marketplace.hosted_demo import SERVED_MODELS

DEFAULT_EMAIL = "provider@agora.local"
DEFAULT_HTTP_PORT = 8101


def _env_port(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else default


class Command(BaseCommand):
    help = "Start a real Triton with the demo models and register it as a node of a provider account."

    def add_arguments(self, parser: CommandParser) -> None:
        http = _env_port("PROVIDER_HTTP_PORT", DEFAULT_HTTP_PORT)
        parser.add_argument("--email", default=DEFAULT_EMAIL, help="The provider account (must exist).")
        parser.add_argument("--name", default="", help="The node's name (default: host name and port).")
        parser.add_argument(
            "--host", default=os.environ.get("PROVIDER_HOST", "127.0.0.1"), help="Bind address."
        )
        parser.add_argument("--http-port", type=int, default=http)
        parser.add_argument("--grpc-port", type=int, default=_env_port("PROVIDER_GRPC_PORT", http + 1))
        parser.add_argument("--metrics-port", type=int, default=_env_port("PROVIDER_METRICS_PORT", http + 2))
        parser.add_argument(
            "--public-url", default="", help="The URL Agora calls (default: http://HOST:HTTP_PORT)."
        )
        parser.add_argument("--gpu", default="CPU", help="GPU model and memory, as the node advertises it.")
        parser.add_argument("--region", default="local")

    def handle(self, *args: Any, **options: Any) -> None:
        provider = User.objects.filter(email=options["email"]).first()
        if provider is None:
            raise CommandError(
                f"No account {options['email']}: run `manage.py load_demo_data` or sign up first."
            )
        host: str = options["host"]
        ports = TritonPorts(
            http=options["http_port"], grpc=options["grpc_port"], metrics=options["metrics_port"]
        )
        public_host = host if host not in ("0.0.0.0", "::") else socket.gethostname()  # noqa: S104
        url = options["public_url"] or f"http://{public_host}:{ports.http}"
        grpc_url = f"{public_host}:{ports.grpc}"
        name = options["name"] or f"{socket.gethostname()}-{ports.http}"

        # Signals are caught from here on, so a Ctrl-C during start-up still stops Triton cleanly.
        stopping = stop_event_on_signals()
        self.stdout.write(
            f"Starting Triton on {host}:{ports.http} (gRPC {ports.grpc}, metrics {ports.metrics})…"
        )
        triton = triton_start(host=host, ports=ports, models=SERVED_MODELS)
        try:
            try:
                node = local_node_register(
                    provider=provider,
                    name=name,
                    triton_url=url,
                    grpc_url=grpc_url,
                    gpu=options["gpu"],
                    region=options["region"],
                    triton_model_names=[model.triton_name for model in SERVED_MODELS],
                )
            except ApplicationError as exc:  # the node failed a registration check: say which
                raise CommandError(f"The node could not be registered: {exc.message}") from exc
            served = ", ".join(model.triton_name for model in SERVED_MODELS)
            registered = f"Node {node.pk} ({name}) of {provider.email}"
            self.stdout.write(
                self.style.SUCCESS(f"{registered}: Triton serves {served} at {url}. Stop with Ctrl-C.")
            )
            if not serve_until_stopped(stopping, triton.is_alive):
                raise CommandError("Triton stopped unexpectedly; see the log above.")
        finally:
            self.stdout.write("Stopping Triton…")
            triton.stop()
        self.stdout.write("Stopped.")
