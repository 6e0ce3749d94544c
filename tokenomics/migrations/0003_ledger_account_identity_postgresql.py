"""On PostgreSQL, a ledger account's identity (owner, kind, asset, overdraft rule) never changes:
only its cached balance does, as in TigerBeetle. Otherwise a raw UPDATE of `asset` would silently
move every existing entry into another currency. SQLite relies on the services (see 0002)."""

from __future__ import annotations

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION tokenomics_account_identity_fixed() RETURNS trigger AS $$
BEGIN
    IF NEW.owner_id IS DISTINCT FROM OLD.owner_id
       OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.asset IS DISTINCT FROM OLD.asset
       OR NEW.overdraft_allowed IS DISTINCT FROM OLD.overdraft_allowed THEN
        RAISE EXCEPTION 'ledger account % keeps its owner, kind, asset and overdraft rule; only its balance changes', OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tokenomics_account_identity_fixed BEFORE UPDATE ON tokenomics_ledgeraccount
    FOR EACH ROW EXECUTE FUNCTION tokenomics_account_identity_fixed();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS tokenomics_account_identity_fixed ON tokenomics_ledgeraccount;
DROP FUNCTION IF EXISTS tokenomics_account_identity_fixed();
"""


def _run(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # None: the % in RAISE are not placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [("tokenomics", "0002_ledger_guards_postgresql")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
