"""Placeholder: filled in by web part 2."""
from flask import Blueprint

bp = Blueprint("board", __name__, url_prefix="/board")
