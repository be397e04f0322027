"""Placeholder: filled in by web part 2."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
