"""`python -m targets.sample.gateway`: patch gevent first, then run the gateway."""

from gevent import monkey

monkey.patch_all()

from targets.sample.gateway.app import main  # noqa: E402

raise SystemExit(main())
