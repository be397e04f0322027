"""One module per area; lianzhao.cli.COMMANDS names the click command each module defines."""
