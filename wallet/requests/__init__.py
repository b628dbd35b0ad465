"""Badge requests: learners ask organisations to recognise learning that already happened (docs/requests.md)."""
