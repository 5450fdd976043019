"""Spec versions are immutable in the database itself: any UPDATE that changes what a
version says (or which spec, organization or number it is) is refused. Only the
foreign keys' SET NULL, when a version's author or agent is deleted, may pass."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION specs_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id
        OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
        OR NEW.spec_id IS DISTINCT FROM OLD.spec_id
        OR NEW.number IS DISTINCT FROM OLD.number
        OR NEW.title IS DISTINCT FROM OLD.title
        OR NEW.content IS DISTINCT FROM OLD.content
        OR NEW.change_note IS DISTINCT FROM OLD.change_note
        OR NEW.created_at IS DISTINCT FROM OLD.created_at
        OR (NEW.author_id IS DISTINCT FROM OLD.author_id AND NEW.author_id IS NOT NULL)
        OR (NEW.agent_id IS DISTINCT FROM OLD.agent_id AND NEW.agent_id IS NOT NULL)
    THEN
        RAISE EXCEPTION 'spec versions are immutable (version % of spec %)', OLD.number, OLD.spec_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER specs_version_immutable BEFORE UPDATE ON specs_specversion
    FOR EACH ROW EXECUTE FUNCTION specs_version_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS specs_version_immutable ON specs_specversion;
DROP FUNCTION IF EXISTS specs_version_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("specs", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
