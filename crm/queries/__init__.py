"""Read-side SQL of the CRM (lists, ledgers, dashboards): queries that only read, beside the services."""
