"""``suara sandbox``: a local Kobo-compatible server seeded with synthetic submissions.

Contract (design.md): the first line on stdout is the base URL ``http://127.0.0.1:PORT``, the
second the token (``KOBO_TOKEN`` when set, else a new one); both are flushed at once so a
script can read them and point ``KOBO_URL``/``KOBO_TOKEN`` at the sandbox. It serves until
interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import signal
import sys
import threading

from suara.errors import ConfigurationError


def register(sub) -> None:
    p = sub.add_parser("sandbox", help="local Kobo-compatible server with synthetic data")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--submissions", type=int, default=500, help="synthetic submissions per form")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    p.add_argument("--edge-share", type=float, default=0.0,
                   help="share of submissions that are edge cases (0-1)")
    p.add_argument("--form", action="append", dest="form_ids", metavar="FORM_ID",
                   help="serve only this form (repeatable; default: every form)")
    p.add_argument("--late-seconds", type=float, default=0.0,
                   help="new submissions become visible this many seconds after they arrive")
    p.set_defaults(handler=_sandbox)


def _sandbox(args) -> int:
    from suara.forms import load_forms
    from suara.sandbox import Sandbox
    from suara.settings import load_settings

    if not 0 <= args.port <= 65535:
        raise ConfigurationError(f"--port {args.port} is not a port number.", hint="Use 0-65535.")
    if not 0.0 <= args.edge_share <= 1.0 or args.submissions < 0:
        raise ConfigurationError("--edge-share must be within 0-1 and --submissions >= 0.")
    settings = load_settings()
    token = settings.kobo_token.get_secret_value() if settings.kobo_token else None
    forms = load_forms(settings.forms_dir())
    if args.form_ids:
        unknown = sorted(set(args.form_ids) - {f.form_id for f in forms})
        if unknown:
            raise ConfigurationError(f"No form {', '.join(unknown)} in {settings.forms_dir()}.",
                                     hint="Use a form_id from: "
                                     + ", ".join(f.form_id for f in forms))
        forms = [f for f in forms if f.form_id in args.form_ids]
    if not forms:
        raise ConfigurationError(f"No forms in {settings.forms_dir()}.",
                                 hint="Set SUARA_FORMS_DIR to the folder holding <form_id>.md files.")
    encryptor = None
    if any(f.encrypted for f in forms):  # encrypted forms are served as Kobo stores them
        from suara.sandbox.encrypted import odk_encryptor

        encryptor = odk_encryptor()
    sandbox = Sandbox(forms, submissions=args.submissions, seed=args.seed, token=token,
                      port=args.port, edge_share=args.edge_share,
                      late_visibility_seconds=args.late_seconds, encryptor=encryptor)
    try:
        sandbox.start()
    except OSError as exc:
        raise ConfigurationError(f"Cannot listen on 127.0.0.1:{args.port} ({exc.strerror}).",
                                 hint="Choose another --port, or 0 for a free one.") from None
    print(sandbox.url, flush=True)
    print(sandbox.token, flush=True)
    for form in forms:
        print(f"{form.form_id}\t{sandbox.asset_uid(form.form_id)}\t{args.submissions} submissions",
              file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0
