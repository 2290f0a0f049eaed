"""Further CLI subcommands (routing, accounts); registered into hotline.cli.EXTENSIONS."""
