"""``python -m validation [--write]``: check (or rewrite) the reviewed suite snapshots in
validation/expectations/ against the forms."""

from validation.suites import main

raise SystemExit(main())
