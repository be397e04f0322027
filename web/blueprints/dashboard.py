"""Placeholder: filled in by web part 2."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
