from animerec_tui.launcher import main

raise SystemExit(main())
