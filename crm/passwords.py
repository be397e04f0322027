"""Password hashing (werkzeug's scrypt/pbkdf2) and the configurable password policy."""

from __future__ import annotations

import secrets
import string

from werkzeug.security import check_password_hash, generate_password_hash

from .errors import ValidationError
from .settings import SecurityPolicy

MAX_LENGTH = 128
# Verifying against this when the user does not exist keeps timing the same for both failures.
_DUMMY_HASH = generate_password_hash("lianzhao-dummy-password")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    return check_password_hash(password_hash or _DUMMY_HASH, password or "") and bool(password_hash)


def password_problems(password: str, policy: SecurityPolicy, username: str = "") -> list[str]:
    """What is wrong with a new password under the policy, as Chinese phrases (empty: fine).

    With `password_composition` on (等保 2.0 practice) a password needs three of the four classes
    upper case, lower case, digit, symbol; off (OWASP ASVS) only the length counts.
    """
    problems = []
    if len(password) < policy.password_min_length:
        problems.append(f"长度至少 {policy.password_min_length} 位")
    if len(password) > MAX_LENGTH:
        problems.append(f"长度不超过 {MAX_LENGTH} 位")
    if policy.password_composition:
        classes = sum(
            [
                any(c.isupper() for c in password),
                any(c.islower() for c in password),
                any(c.isdigit() for c in password),
                any(not c.isalnum() or c in string.punctuation for c in password),
            ]
        )
        if classes < 3:
            problems.append("须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("不能包含用户名")
    return problems


def check_password(password: str, policy: SecurityPolicy, username: str = "") -> None:
    problems = password_problems(password, policy, username)
    if problems:
        raise ValidationError("密码不符合安全策略：" + "；".join(problems))


def generate_password(length: int = 16) -> str:
    """A random password that passes every policy (upper, lower, digit and symbol), for initial
    and demo accounts; shown once by the caller, never stored in clear. It starts with a letter so
    it is not mistaken for a command-line option when pasted."""
    symbols = "#%+-=@_"
    alphabet = string.ascii_letters + string.digits + symbols
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            pw[0].isalpha()
            and any(c.isupper() for c in pw)
            and any(c.islower() for c in pw)
            and any(c.isdigit() for c in pw)
            and any(c in symbols for c in pw)
        ):
            return pw
