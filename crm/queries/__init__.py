"""Read-side SQL of the CRM: the lists, summaries and dashboards pages and the CLI show."""
