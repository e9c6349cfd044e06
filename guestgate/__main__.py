from guestgate.cli import main

raise SystemExit(main())
