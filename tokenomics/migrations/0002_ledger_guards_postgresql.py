"""Database-level ledger guarantees on PostgreSQL (SQLite, the embedded demo database, relies on
the posting service's checks alone: it has no deferred constraint triggers, and Django's test
flush deletes rows with DELETE there, which a row trigger would refuse).

- A deferred constraint trigger, modelled on django-hordak's `check_leg`, rejects at COMMIT any
  transaction whose entries do not sum to zero per asset, that has fewer than two entries, or
  whose entry asset differs from its account's, however the rows were written (raw SQL too).
- Posted transactions, entries and parameter history rows refuse UPDATE and DELETE; corrections
  are reversing transactions. (TRUNCATE, used only by test flushes, fires no row trigger.)
"""

from __future__ import annotations

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION tokenomics_assert_balanced(tx_id bigint) RETURNS void AS $$
DECLARE
    bad record;
    n integer;
BEGIN
    SELECT e.asset, SUM(e.amount) AS total INTO bad
      FROM tokenomics_ledgerentry e
     WHERE e.transaction_id = tx_id
     GROUP BY e.asset
    HAVING SUM(e.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % % off', tx_id, bad.total, bad.asset
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT count(*) INTO n FROM tokenomics_ledgerentry WHERE transaction_id = tx_id;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger transaction % has % entries; at least two are needed', tx_id, n
            USING ERRCODE = 'check_violation';
    END IF;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tokenomics_check_entry() RETURNS trigger AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM tokenomics_ledgeraccount a WHERE a.id = NEW.account_id AND a.asset = NEW.asset
    ) THEN
        RAISE EXCEPTION 'entry % is in % but its account is not', NEW.id, NEW.asset
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM tokenomics_assert_balanced(NEW.transaction_id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tokenomics_check_transaction() RETURNS trigger AS $$
BEGIN
    PERFORM tokenomics_assert_balanced(NEW.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER tokenomics_entry_balanced
    AFTER INSERT ON tokenomics_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION tokenomics_check_entry();

CREATE CONSTRAINT TRIGGER tokenomics_transaction_has_entries
    AFTER INSERT ON tokenomics_ledgertransaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION tokenomics_check_transaction();

CREATE OR REPLACE FUNCTION tokenomics_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are immutable once written; post a reversing transaction instead', TG_TABLE_NAME
        USING ERRCODE = 'object_not_in_prerequisite_state';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tokenomics_entry_immutable BEFORE UPDATE OR DELETE ON tokenomics_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION tokenomics_refuse_change();
CREATE TRIGGER tokenomics_transaction_immutable BEFORE UPDATE OR DELETE ON tokenomics_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION tokenomics_refuse_change();
CREATE TRIGGER tokenomics_parameterchange_immutable BEFORE UPDATE OR DELETE ON tokenomics_parameterchange
    FOR EACH ROW EXECUTE FUNCTION tokenomics_refuse_change();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS tokenomics_parameterchange_immutable ON tokenomics_parameterchange;
DROP TRIGGER IF EXISTS tokenomics_transaction_immutable ON tokenomics_ledgertransaction;
DROP TRIGGER IF EXISTS tokenomics_entry_immutable ON tokenomics_ledgerentry;
DROP FUNCTION IF EXISTS tokenomics_refuse_change();
DROP TRIGGER IF EXISTS tokenomics_transaction_has_entries ON tokenomics_ledgertransaction;
DROP TRIGGER IF EXISTS tokenomics_entry_balanced ON tokenomics_ledgerentry;
DROP FUNCTION IF EXISTS tokenomics_check_transaction();
DROP FUNCTION IF EXISTS tokenomics_check_entry();
DROP FUNCTION IF EXISTS tokenomics_assert_balanced(bigint);
"""


def _run(sql: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # None: the % in RAISE are not placeholders

    return run


class Migration(migrations.Migration):
    dependencies = [("tokenomics", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
