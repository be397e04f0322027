"""Read-only queries the web needs that the CRM services do not offer yet (work lists, board
columns, dashboard aggregates). They start from `crm.services.leads.visible_leads`, so the
permission rule stays the service layer's; they never write. They belong in crm/services and
should move there once the CRM engineer takes them.
"""
