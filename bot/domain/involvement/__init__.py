"""The involvement ledger: members' time and what they are owed, paid or declined."""
