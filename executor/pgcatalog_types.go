package executor

// Type OIDs of the system catalogs, as PostgreSQL 15 numbers them. Values of
// "char", int2vector, oidvector and pg_node_tree are strings, values of the
// reg* types are OIDs (int64), and arrays are []any (see pgcatalog_array.go).
const (
	oidChar         = 18
	oidInt2vector   = 22
	oidRegproc      = 24
	oidXid          = 28
	oidOidvector    = 30
	oidPgNodeTree   = 194
	oidInet         = 869
	oidACLItem      = 1033
	oidRegclass     = 2205
	oidRegtype      = 2206
	oidAnyarray     = 2277
	oidRecord       = 2249
	oidRegnamespace = 4089

	oidBoolArray    = 1000
	oidCharArray    = 1002
	oidNameArray    = 1003
	oidInt2Array    = 1005
	oidInt4Array    = 1007
	oidTextArray    = 1009
	oidVarcharArray = 1015
	oidInt8Array    = 1016
	oidOIDArray     = 1028
	oidACLItemArray = 1034
)

// catalogColumn is a column of a pg_catalog or information_schema table.
type catalogColumn struct {
	name string
	oid  uint32
}

// pgType is one row of pg_type.
type pgType struct {
	oid       uint32
	name      string
	length    int16
	byValue   bool
	kind      byte
	category  byte
	preferred bool
	delimiter byte
	elem      uint32
	array     uint32
	input     string
	output    string
	receive   string
	send      string
	align     byte
	storage   byte
	collation uint32
}

// typeByOID indexes builtinTypes.
var typeByOID = func() map[uint32]*pgType {
	m := make(map[uint32]*pgType, len(builtinTypes))
	for i := range builtinTypes {
		m[builtinTypes[i].oid] = &builtinTypes[i]
	}
	return m
}()

// arrayElem returns the element type of an array type, or 0.
func arrayElem(oid uint32) uint32 {
	if t := typeByOID[oid]; t != nil && t.category == 'A' {
		return t.elem
	}
	return 0
}

// arrayOf returns the array type of an element type, or 0.
func arrayOf(elem uint32) uint32 {
	if t := typeByOID[elem]; t != nil {
		return t.array
	}
	return 0
}

func isRegType(oid uint32) bool {
	return oid == oidRegclass || oid == oidRegtype || oid == oidRegnamespace || oid == oidRegproc
}

func init() {
	for oid, name := range map[uint32]string{
		oidChar: `"char"`, oidInt2vector: "int2vector", oidRegproc: "regproc", oidXid: "xid", oidOidvector: "oidvector",
		oidPgNodeTree: "pg_node_tree", oidInet: "inet", oidACLItem: "aclitem", oidRegclass: "regclass", oidRegtype: "regtype",
		oidAnyarray: "anyarray", oidRegnamespace: "regnamespace", oidRecord: "record",
	} {
		typeNames[oid] = name
	}
	for _, t := range builtinTypes {
		if t.category == 'A' && t.elem != 0 {
			typeNames[t.oid] = typeName(t.elem) + "[]"
		}
		if t.length > 0 {
			if _, ok := typeSizes[t.oid]; !ok {
				typeSizes[t.oid] = t.length
			}
		}
	}
	for name, oid := range map[string]uint32{
		"regclass": oidRegclass, "regtype": oidRegtype, "regnamespace": oidRegnamespace, "regproc": oidRegproc,
		"int2vector": oidInt2vector, "oidvector": oidOidvector, "xid": oidXid, "pg_node_tree": oidPgNodeTree,
	} {
		typeAliases[name] = oid
	}
}
