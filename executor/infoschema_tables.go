package executor

import (
	"github.com/pgkeep/pgkeep/catalog"
	"github.com/pgkeep/pgkeep/security"
)

// The information_schema tables list only the tables the acting user may
// read (security.CheckTable with OpSelect), as PostgreSQL lists only the
// tables the current user has a privilege on.

// readableTables returns the tables of the snapshot the acting user may
// read.
func readableTables(ec *evalContext, snap *catalogSnapshot) []*catalog.TableDescriptor {
	subject := subjectOf(ec.actor())
	var out []*catalog.TableDescriptor
	for _, t := range snap.tables {
		if security.CheckTable(subject, securityTable(t), security.OpSelect) == nil {
			out = append(out, t)
		}
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func infoSchemataRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	owners := map[uint32]string{}
	for _, s := range snap.schemas {
		owner, err := ownerName(ec.sess.srv.cat, ec.sess.txn.kv, owners, s.OwnerID())
		if err != nil {
			return err
		}
		out.add(map[string]any{"catalog_name": ec.sess.database, "schema_name": s.Name, "schema_owner": owner})
	}
	return nil
}

func infoTablesRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, t := range readableTables(ec, snap) {
		tableType, insertable := "BASE TABLE", t.Kind != catalog.TableKindSystem
		if catalogRelkind(t) == "v" {
			tableType, insertable = "VIEW", false
		}
		out.add(map[string]any{
			"table_catalog": ec.sess.database, "table_schema": snap.schemaName(t.SchemaID), "table_name": t.Name,
			"table_type": tableType, "is_insertable_into": yesNo(insertable), "is_typed": "NO",
		})
	}
	return nil
}

func infoViewsRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, t := range readableTables(ec, snap) {
		if t.Kind != catalog.TableKindView {
			continue
		}
		out.add(map[string]any{
			"table_catalog": ec.sess.database, "table_schema": snap.schemaName(t.SchemaID), "table_name": t.Name,
			"view_definition": t.ViewQuery, "check_option": "NONE", "is_updatable": "NO", "is_insertable_into": "NO",
			"is_trigger_updatable": "NO", "is_trigger_deletable": "NO", "is_trigger_insertable_into": "NO",
		})
	}
	return nil
}

func infoColumnsRows(ec *evalContext, out *catalogRows) error {
	snap, err := readCatalogSnapshot(ec)
	if err != nil {
		return err
	}
	for _, t := range readableTables(ec, snap) {
		for i, c := range visibleColumns(t) {
			row := map[string]any{
				"table_catalog": ec.sess.database, "table_schema": snap.schemaName(t.SchemaID), "table_name": t.Name,
				"column_name": c.Name, "ordinal_position": int64(i + 1), "column_default": textOrNull(columnDefault(ec, snap, t, c)),
				"is_nullable": yesNo(!c.NotNull), "data_type": informationSchemaType(c.Type.OID),
				"udt_catalog": ec.sess.database, "udt_schema": "pg_catalog", "udt_name": udtName(c.Type.OID),
				"dtd_identifier": itoa(int64(i + 1)), "is_self_referencing": "NO", "is_identity": yesNo(c.Identity != catalog.IdentityNone && !c.Serial),
				"is_generated": "NEVER", "is_updatable": yesNo(catalogRelkind(t) == "r" && t.Kind != catalog.TableKindSystem),
			}
			if c.Identity == catalog.IdentityAlways {
				row["identity_generation"] = "ALWAYS"
			} else if c.Identity == catalog.IdentityByDefault && !c.Serial {
				row["identity_generation"] = "BY DEFAULT"
			}
			addTypeFacets(row, c.Type)
			out.add(row)
		}
	}
	return nil
}

// informationSchemaType is columns.data_type: the SQL standard name, or
// ARRAY or USER-DEFINED.
func informationSchemaType(oid uint32) string {
	if arrayElem(oid) != 0 {
		return "ARRAY"
	}
	if oid == oidChar || oid == oidName || isRegType(oid) {
		return typeByOID[oid].name
	}
	return typeName(oid)
}

func udtName(oid uint32) string {
	if t := typeByOID[oid]; t != nil {
		return t.name
	}
	return typeName(oid)
}

// addTypeFacets fills the length, precision and scale columns of
// information_schema.columns.
func addTypeFacets(row map[string]any, typ catalog.ColumnType) {
	switch typ.OID {
	case oidVarchar, oidBpchar:
		if typ.TypMod >= 4 {
			n := int64(typ.TypMod - 4)
			row["character_maximum_length"] = n
			row["character_octet_length"] = n * 4
		} else {
			row["character_octet_length"] = int64(1073741824)
		}
	case oidText:
		row["character_octet_length"] = int64(1073741824)
	case oidInt2, oidInt4, oidInt8:
		row["numeric_precision"] = map[uint32]int64{oidInt2: 16, oidInt4: 32, oidInt8: 64}[typ.OID]
		row["numeric_precision_radix"] = int64(2)
		row["numeric_scale"] = int64(0)
	case oidFloat4, oidFloat8:
		row["numeric_precision"] = map[uint32]int64{oidFloat4: 24, oidFloat8: 53}[typ.OID]
		row["numeric_precision_radix"] = int64(2)
	case oidNumeric:
		row["numeric_precision_radix"] = int64(10)
		if typ.TypMod >= 4 {
			m := int64(typ.TypMod - 4)
			row["numeric_precision"] = m >> 16
			row["numeric_scale"] = m & 0xffff
		}
	case oidDate:
		row["datetime_precision"] = int64(0)
	case oidTimestamp, oidTimestamptz, oidTime:
		p := int64(6)
		if typ.TypMod >= 0 {
			p = int64(typ.TypMod)
		}
		row["datetime_precision"] = p
	}
}
