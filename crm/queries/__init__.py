"""The CRM's read side: lists, boards, dashboard aggregates, timelines (read-only, no writes).

Why apart from crm/services: services enforce the workflow and permissions on writes and on
single objects; these queries answer the pages' questions over many rows. Every one starts
from `crm.permissions.visible_leads(actor)`, so a list never shows what the actor may not read.
Views call these and render; they hold no SQL of their own.
"""
