"""Upstash Workflow: runs made of QStash messages, their waiters, and the workflow DLQ."""
