"""Double-entry ledger: accounts, transactions, postings, running balances and their verification."""
