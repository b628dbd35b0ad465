"""The learner's wallet as the server stores it: merged rows, the server's own changes, edits from pages.

Below holding and everything that puts a credential in a wallet; the sync engine (``wallet.sync``) sits
above and serves these rows to devices. Nothing here imports holding, issuing or sync
(``lint-imports``: the service layers contract).
"""
