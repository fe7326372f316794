"""creditflow engine: runs credit-lifecycle BPMN on SpiffWorkflow and keeps it in SQL."""
