from paygo_desktop.cli import main

raise SystemExit(main())
