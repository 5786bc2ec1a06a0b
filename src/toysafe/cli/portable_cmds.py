"""Commands that move a whole workspace: export, import, backup, restore."""
