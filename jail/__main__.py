from jail.cli import main

raise SystemExit(main())
