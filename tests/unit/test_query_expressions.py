"""DMTF:CQL's expressions, table by table: every operator and its precedence and
associativity, the CIM type of each result, uint64/sint64 overflow, division by zero,
NULL propagation, datetime arithmetic, every function, type errors with their position,
computed columns (AS), DISTINCT, FIRST n and ORDER BY expressions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pywbem import (
    CIMDateTime,
    CIMInstance,
    CIMInstanceName,
    CIMProperty,
    Uint16,
    Uint32,
    Uint64,
)

from tests.unit.query_model import FakeSchema, assert_invalid, thing
from virtcim.indications.filters import compile_filter
from virtcim.query import parse

SCHEMA = FakeSchema()
MAX_UINT64 = 2**64 - 1
MAX_SINT64 = 2**63 - 1
CREATED = CIMDateTime("20240301120000.000000+000")
UPTIME = CIMDateTime("00000001020304.000000:000")


def column(expression: str, **changes):
    """The value and CIM type of ``expression`` computed for thing(**changes)."""
    query = parse("DMTF:CQL", f"SELECT {expression} AS v FROM T_Thing", schema=SCHEMA)
    prop = next(query.select([thing(**changes)])).properties["v"]
    return prop.value, prop.type


# Each expression, its value for thing(), and the CIM type of the result.
VALUES = [
    # every operator on numbers, and the type of its result
    ("State + 1", 3, "sint64"), ("State - 5", -3, "sint64"), ("State * 3", 6, "sint64"),
    ("State / 2", 1, "sint64"), ("Memory / 3", 1365, "sint64"), ("Load * 2", 1.0, "real64"),
    ("Load + State", 2.5, "real64"), ("Load / 4", 0.125, "real64"), ("State / 0.5", 4.0, "real64"),
    ("Sizes[0] + Sizes[2]", 4, "uint64"), ("Memory - Sizes[0]", 4095, "sint64"), ("Sizes[0] - Sizes[1]", -1, "sint64"),
    ("State - Memory", -4094, "sint64"),
    ("Memory * Sizes[1]", 8192, "uint64"), ("Setting.Size + State", 12, "uint64"),
    ("1.5 + 1", 2.5, "real64"), ("0x10 + 1", 17, "sint64"), ("1e2 / 8", 12.5, "real64"),
    # integer division truncates towards zero
    ("7 / 2", 3, "sint64"), ("-7 / 2", -3, "sint64"), ("7 / -2", -3, "sint64"),
    ("-7 / -2", 3, "sint64"), ("State / 3", 0, "sint64"), ("0 - State / 3", 0, "sint64"),
    # precedence: * and / before + and -; unary minus first; parentheses
    ("1 + 2 * 3", 7, "sint64"), ("(1 + 2) * 3", 9, "sint64"), ("State + State * State", 6, "uint64"),
    ("(State + State) * State", 8, "uint64"), ("10 - 2 * 3", 4, "sint64"),
    ("-State * 3", -6, "sint64"), ("-(State + 1)", -3, "sint64"), ("- -State", 2, "sint64"),
    ("State - -1", 3, "sint64"), ("+State", 2, "uint16"), ("State * -State", -4, "sint64"),
    # associativity: left to right
    ("10 - 4 - 3", 3, "sint64"), ("State - 4 - 3", -5, "sint64"), ("100 / 10 / 5", 2, "sint64"),
    ("State * 3 / 4", 1, "sint64"), ("State * (3 / 4)", 0, "sint64"), ("64 / State / State", 16,
                                                                       "sint64"),
    # || joins strings, left to right, after + and -
    ("Name || '-' || ElementName", "web1-Web server", "string"), ("Letter || Name", "wweb1",
                                                                   "string"),
    ("'a' || 'b'", "ab", "string"), ("Name || ''", "web1", "string"),
    ("NUMERICTOSTRING(State + 1) || Name", "3web1", "string"),
    # datetimes: timestamp - timestamp, timestamp +/- interval, interval arithmetic
    ("Created - Created", CIMDateTime(timedelta(0)), "datetime"),
    ("Created + Uptime", CIMDateTime("20240302140304.000000+000"), "datetime"),
    ("Uptime + Created", CIMDateTime("20240302140304.000000+000"), "datetime"),
    ("Created - Uptime", CIMDateTime("20240229095656.000000+000"), "datetime"),
    ("Uptime + Uptime", CIMDateTime("00000002040608.000000:000"), "datetime"),
    ("Uptime - Uptime", CIMDateTime("00000000000000.000000:000"), "datetime"),
    ("Uptime * 2", CIMDateTime("00000002040608.000000:000"), "datetime"),
    ("2 * Uptime", CIMDateTime("00000002040608.000000:000"), "datetime"),
    ("Uptime / 2", CIMDateTime("00000000130132.000000:000"), "datetime"),
    ("Created - Dates[0]", CIMDateTime("00000060120000.000000:000"), "datetime"),
]


@pytest.mark.parametrize("expression, value, cimtype", VALUES, ids=[e for e, _, _ in VALUES])
def test_operators(expression, value, cimtype):
    assert column(expression) == (value, cimtype)


# Each expression, the values it is computed over, and its NULL result: NULL in, NULL out;
# an overflow or a division by zero found only at run time is NULL too.
NULLS = [
    ("State + 1", {"State": None}), ("1 - State", {"State": None}), ("State * 0", {"State": None}),
    ("State / 1", {"State": None}), ("-State", {"State": None}), ("Caption || 'x'", {}),
    ("'x' || Caption", {}), ("Created - Created", {"Created": None}),
    ("Uptime * State", {"State": None}), ("UPPERCASE(Caption)", {}),
    ("NUMERICTOSTRING(State)", {"State": None}), ("Tags[7] || 'x'", {}),
    ("Setting.Missing + 1", {}),
    # uint64 and sint64 overflow
    ("Memory + Memory", {"Memory": Uint64(MAX_UINT64)}),
    ("Memory * Sizes[1]", {"Memory": Uint64(MAX_UINT64)}),
    ("Memory - Sizes[0]", {"Memory": Uint64(MAX_UINT64)}),
    ("Memory + 1", {"Memory": Uint64(MAX_SINT64)}), ("Memory * -1", {"Memory": Uint64(MAX_UINT64)}),
    ("-Memory", {"Memory": Uint64(MAX_UINT64)}),
    ("9223372036854775807 + State", {}), ("-9223372036854775807 - State", {}),
    # division by zero
    ("State / (State - 2)", {}), ("Load / (State - 2)", {}), ("Uptime / (State - 2)", {}),
    # datetimes out of range: a negative interval, a year past 9999
    ("Dates[0] - Created", {}), ("Uptime - (Uptime * 2)", {}),
    ("Created + Uptime * 3000000", {}),
]


@pytest.mark.parametrize("expression, changes", NULLS, ids=[e for e, _ in NULLS])
def test_null_results(expression, changes):
    assert column(expression, **changes)[0] is None


def test_largest_values_fit():
    assert column("Memory + 0", Memory=Uint64(MAX_SINT64)) == (MAX_SINT64, "sint64")
    assert column("Memory + Sizes[0]", Memory=Uint64(MAX_UINT64 - 1)) == (MAX_UINT64, "uint64")
    assert column("-9223372036854775807 - 1") == (-2**63, "sint64")


def fql_cql(condition: str, **changes) -> bool:
    query = parse("DMTF:CQL", f"SELECT * FROM T_Thing WHERE {condition}", schema=SCHEMA)
    return query.matches(thing(**changes))


# Conditions on expressions, and whether they hold for thing().
CONDITIONS = [
    ("State + 1 = 3", True), ("State * 2 > 3", True), ("State * 2 - 1 = 3", True),
    ("State + 1 > 2 AND Name = 'web1'", True), ("NOT State * 2 = 4", False),
    ("State * 2 = 4 OR Caption || 'x' = 'y'", True), ("3 = State + 1", True),
    ("State + 1 = Sizes[2]", True), ("Memory / 1024 = 4", True), ("Load * 4 = State", True),
    ("-State < 0", True), ("-State = -2", True), ("State > -1", True), ("State = -(-2)", True),
    ("(State + 1) * 2 = 6", True), ("State + 1 * 2 = 4", True), ("State - 1 - 1 = 0", True),
    ("Name || '!' = 'web1!'", True), ("Name || '!' LIKE 'w.*!'", True),
    ("UPPERCASE(Name) = 'WEB1'", True), ("upperCase(Name) = 'WEB1'", True),
    ("LOWERCASE('WEB1') = Name", True),
    ("ANY s IN Sizes SATISFIES (s * 2 = 4)", True), ("EVERY s IN Sizes SATISFIES (s - 1 >= 0)", True),
    ("Created + Uptime > Created", True), ("Created - Created = '00000000000000.000000:000'", True),
    ("Uptime * 2 > Uptime", True), ("CURRENTDATETIME() > Created", True),
    # NULL: unknown, so neither the comparison nor its negation holds
    ("State + 1 = 1", False), ("NOT State + 1 = 1", True), ("State + 1 IS NULL", False),
    ("State / (State - 2) IS NULL", True), ("Caption || 'x' IS NULL", True),
    ("Memory + Memory > 0", True),
]


@pytest.mark.parametrize("condition, expected", CONDITIONS, ids=[c for c, _ in CONDITIONS])
def test_conditions_on_expressions(condition, expected):
    assert fql_cql(condition) is expected


@pytest.mark.parametrize("condition, changes", [
    ("State + 1 IS NULL", {"State": None}), ("NOT State + 1 = 1", {"State": None}),
    ("Memory + Memory IS NULL", {"Memory": Uint64(MAX_UINT64)}),
    ("NOT Memory + Memory > 0", {"Memory": Uint64(MAX_UINT64)}),
])
def test_null_propagates_into_conditions(condition, changes):
    expected = "NOT" not in condition
    assert fql_cql(condition, **changes) is expected


# Each function call, its value for thing(), and the CIM type of the result.
FUNCTIONS = [
    ("UPPERCASE(Name)", "WEB1", "string"), ("LOWERCASE(ElementName)", "web server", "string"),
    ("uppercase(Letter)", "W", "string"), ("UpperCase(LOWERCASE('MiXeD'))", "MIXED", "string"),
    ("UPPERCASE(Caption)", None, "string"),
    ("STRINGTOUINT('42')", 42, "uint64"), ("STRINGTOUINT(' 7 ')", 7, "uint64"),
    ("STRINGTOUINT('+7')", 7, "uint64"), ("STRINGTOUINT('-1')", None, "uint64"),
    ("STRINGTOUINT('x')", None, "uint64"), ("STRINGTOUINT('1.5')", None, "uint64"),
    ("STRINGTOUINT('18446744073709551615')", MAX_UINT64, "uint64"),
    ("STRINGTOUINT('18446744073709551616')", None, "uint64"),
    ("STRINGTOSINT('-42')", -42, "sint64"), ("STRINGTOSINT('9223372036854775808')", None, "sint64"),
    ("STRINGTOSINT('')", None, "sint64"), ("STRINGTOSINT(Name)", None, "sint64"),
    ("STRINGTOREAL('1.5e2')", 150.0, "real64"), ("STRINGTOREAL('-.5')", -0.5, "real64"),
    ("STRINGTOREAL('abc')", None, "real64"), ("STRINGTOREAL('nan')", None, "real64"),
    ("STRINGTOUINT('40') + 2", 42, "sint64"), ("STRINGTOUINT('40') + Sizes[1]", 42, "uint64"),
    ("NUMERICTOSTRING(State)", "2", "string"), ("NUMERICTOSTRING(Load)", "0.5", "string"),
    ("NUMERICTOSTRING(-3)", "-3", "string"), ("NUMERICTOSTRING(Memory * 2)", "8192", "string"),
    ("REFERENCETOSTRING(Host)", '/root/test:T_Host.Name="h1"', "string"),
    ("DATETIME('20240301120000.000000+000')", CREATED, "datetime"),
    ("DATETIME('00000001020304.000000:000')", UPTIME, "datetime"),
    ("DATETIME('yesterday')", None, "datetime"),
    ("DATETIMETOMICROSECOND(Uptime)", 93_784_000_000, "uint64"),
    ("DATETIMETOMICROSECOND(DATETIME('00010101000000.000000+000'))", 366 * 86_400_000_000,
     "uint64"),
    ("DATETIMETOMICROSECOND(DATETIME('00010101010000.000000+060'))", 366 * 86_400_000_000,
     "uint64"),
    ("DATETIMETOMICROSECOND(Created) - DATETIMETOMICROSECOND(Dates[0])", 60_5 * 8_640_000_000,
     "sint64"),
    ("MICROSECONDTOINTERVAL(93784000000)", UPTIME, "datetime"),
    ("MICROSECONDTOINTERVAL(-1)", None, "datetime"),
    ("MICROSECONDTOINTERVAL(DATETIMETOMICROSECOND(Uptime) * 2)",
     CIMDateTime("00000002040608.000000:000"), "datetime"),
    ("MICROSECONDTOTIMESTAMP(DATETIMETOMICROSECOND(Created))", CREATED, "datetime"),
    ("MICROSECONDTOTIMESTAMP(366 * 86400000000)", CIMDateTime("00010101000000.000000+000"),
     "datetime"),
    ("MICROSECONDTOTIMESTAMP(0)", None, "datetime"),
    ("OBJECTPATH()", thing().path, "reference"),
    ("OBJECTPATH(T_Thing)", thing().path, "reference"),
    ("OBJECTPATH(Setting)", None, "reference"),
    ("OBJECTPATH('T_Host.Name=\"h1\"')", CIMInstanceName("T_Host", {"Name": "h1"}), "reference"),
    ("OBJECTPATH('not a path')", None, "reference"),
    ("CLASSPATH()", "T_KVMThing", "string"), ("CLASSPATH(Setting)", "T_Setting", "string"),
    ("CLASSPATH('/root/virt:T_Host')", "/root/virt:T_Host", "string"),
    ("CLASSPATH(Caption)", None, "string"),
]


@pytest.mark.parametrize("expression, value, cimtype", FUNCTIONS, ids=[e for e, _, _ in FUNCTIONS])
def test_functions(expression, value, cimtype):
    assert column(expression) == (value, cimtype)


def test_current_datetime_is_now():
    now = CIMDateTime.now()
    found, _ = column("CURRENTDATETIME()")
    assert abs(found.datetime - now.datetime) < timedelta(minutes=1)


@pytest.mark.parametrize("condition, expected", [
    ("OBJECTPATH() = 'T_KVMThing.Name=\"web1\"'", True),
    ("OBJECTPATH() = OBJECTPATH(T_Thing)", True),
    ("OBJECTPATH('root/test:T_Host.Name=\"h1\"') = Host", True),
    ("REFERENCETOSTRING(Host) = '/root/test:T_Host.Name=\"h1\"'", True),
    ("DATETIME('20240301130000.000000+060') = Created", True),
    ("MICROSECONDTOINTERVAL(DATETIMETOMICROSECOND(Uptime)) = Uptime", True),
    ("STRINGTOUINT(NUMERICTOSTRING(Memory)) = Memory", True),
    ("CLASSPATH() = 'T_KVMThing'", True),
])
def test_functions_in_conditions(condition, expected):
    assert fql_cql(condition) is expected


# Queries that read but cannot be evaluated: the position (from 1) the error names, and what
# it says.
TYPE_ERRORS = [
    ("SELECT * FROM T_Thing WHERE State + Name = 1", 35, "+ cannot take a uint16 and a string"),
    ("SELECT * FROM T_Thing WHERE Name - 1 = 1", 34, "- cannot take a string and a number"),
    ("SELECT * FROM T_Thing WHERE 'a' + 1 = 1", 33, "+ cannot take a string and a number"),
    ("SELECT * FROM T_Thing WHERE Enabled * 2 = 1", 37, "* cannot take a boolean and a number"),
    ("SELECT * FROM T_Thing WHERE Created * Created = 1", 37,
     "* cannot take a datetime and a datetime"),
    ("SELECT * FROM T_Thing WHERE Uptime + 1 = 1", 36, "+ cannot take a datetime and a number"),
    ("SELECT * FROM T_Thing WHERE 2 / Uptime = 1", 31, "/ cannot take a number and a datetime"),
    ("SELECT * FROM T_Thing WHERE Host + 1 = 1", 34, "+ cannot take a reference"),
    ("SELECT * FROM T_Thing WHERE Setting + 1 = 1", 37, "+ cannot take a string and a number"),
    ("SELECT * FROM T_Thing WHERE Tags + 1 = 1", 29, "+ takes single values, not a string array"),
    ("SELECT * FROM T_Thing WHERE -Name = 'a'", 29, "- cannot take a string"),
    ("SELECT * FROM T_Thing WHERE -Tags = 1", 30, "- takes single values"),
    ("SELECT * FROM T_Thing WHERE ANY Sizes * 2 = 4", 33, "* takes single values, not a uint32 "
                                                          "array"),
    ("SELECT * FROM T_Thing WHERE State || 'x' = 'a'", 35, "|| joins strings, not a uint16"),
    ("SELECT * FROM T_Thing WHERE Name || Created = 'a'", 34, "|| joins strings, not a datetime"),
    ("SELECT * FROM T_Thing WHERE State + 1 = 'x'", 29, "a sint64 cannot be compared with a string"),
    ("SELECT * FROM T_Thing WHERE Name || 'x' = 1", 29, "a string cannot be compared with a number"),
    ("SELECT * FROM T_Thing WHERE State + 1 LIKE 'x'", 29, "LIKE needs a string"),
    ("SELECT * FROM T_Thing WHERE UPPERCASE(State) = 'a'", 39, "UPPERCASE takes a string, not a uint16"),
    ("SELECT * FROM T_Thing WHERE NUMERICTOSTRING(Name) = 'a'", 45, "takes a number, not a string"),
    ("SELECT * FROM T_Thing WHERE DATETIMETOMICROSECOND(Name) = 1", 51, "takes a datetime"),
    ("SELECT * FROM T_Thing WHERE REFERENCETOSTRING(Name) = 'a'", 47, "takes a reference"),
    ("SELECT * FROM T_Thing WHERE OBJECTPATH(State) = 'a'", 40, "takes a instance or a string"),
    ("SELECT * FROM T_Thing WHERE MICROSECONDTOINTERVAL(Uptime) = 1", 51, "takes a number"),
    ("SELECT * FROM T_Thing WHERE UPPERCASE(Tags) = 'a'", 39, "takes single values"),
    ("SELECT * FROM T_Thing WHERE UPPERCASE(Name) = 1", 29, "string cannot be compared"),
    ("SELECT * FROM T_Thing WHERE STRINGTOUINT(Name) = 'a'", 29, "uint64 cannot be compared"),
    ("SELECT * FROM T_Thing WHERE UPPERCASE(Bogus) = 'A'", 39, "no property 'Bogus'"),
    ("SELECT State + 1 FROM T_Thing", 8, "name any other column with AS"),
    ("SELECT UPPERCASE(Name) FROM T_Thing", 8, "name any other column with AS"),
    ("SELECT Setting.Size FROM T_Thing", 8, "name any other column with AS"),
    ("SELECT Name AS n, State AS N FROM T_Thing", 19, "the column 'N' is named twice"),
    ("SELECT Name, Name FROM T_Thing", 14, "the column 'name' is named twice"),
    ("SELECT State AS Name, Name FROM T_Thing", 23, "named twice"),
    ("SELECT u.* FROM T_Thing AS t", 8, "'u' names neither the FROM class nor its alias"),
    ("SELECT Bogus + 1 AS b FROM T_Thing", 8, "no property 'Bogus'"),
    ("SELECT * FROM T_Thing ORDER BY State + Name", 38, "+ cannot take"),
    ("SELECT * FROM T_Thing AS t WHERE t.* = 1", 34, "t.* stands for columns"),
]


@pytest.mark.parametrize("text, position, words", TYPE_ERRORS, ids=[t for t, _, _ in TYPE_ERRORS])
def test_type_errors_name_position_and_reason(text, position, words):
    assert_invalid(position, words, "DMTF:CQL", text, schema=SCHEMA)


# Errors found when the text is read, before any class is known.
READ_ERRORS = [
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE 1 / 0 = 1", 31, "division by zero"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE State / 0 = 1", 35, "division by zero"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Load / 0.0 = 1", 34, "division by zero"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE State / (2 - 2) = 1", 35, "division by zero"),
    ("DMTF:CQL", "SELECT 9223372036854775807 + 1 AS v FROM T_Thing", 28,
     "9223372036854775808 overflows sint64"),
    ("DMTF:CQL", "SELECT -9223372036854775807 - 2 AS v FROM T_Thing", 29, "overflows sint64"),
    ("DMTF:CQL", "SELECT 4294967296 * 4294967296 AS v FROM T_Thing", 19, "overflows sint64"),
    ("DMTF:CQL", "SELECT UPPERCASE(Name, Name) AS u FROM T_Thing", 8,
     "UPPERCASE takes 1 argument(s), not 2"),
    ("DMTF:CQL", "SELECT UPPERCASE() AS u FROM T_Thing", 8, "UPPERCASE takes 1 argument(s), not 0"),
    ("DMTF:CQL", "SELECT CURRENTDATETIME(1) AS u FROM T_Thing", 8, "takes 0 argument(s), not 1"),
    ("DMTF:CQL", "SELECT OBJECTPATH(a, b) AS u FROM T_Thing", 8, "takes 0 to 1 argument(s), not 2"),
    ("DMTF:CQL", "SELECT FOO(Name) AS f FROM T_Thing", 8,
     "function 'FOO' is not supported: DMTF:CQL has none of that name"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Name(1) = 1", 29, "function 'Name' is not supported"),
    ("DMTF:CQL", "SELECT COUNT(*) AS c FROM T_Thing", 8, "function COUNT is not supported: an "
                                                        "aggregation"),
    ("DMTF:CQL", "SELECT count(Name) AS c FROM T_Thing", 8, "function COUNT is not supported"),
    ("DMTF:CQL", "SELECT UPPERCASE(*) AS c FROM T_Thing", 18, "UPPERCASE takes no '*'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE INSTANCEOF(Host) IS NULL", 29,
     "function INSTANCEOF is not supported: it follows a reference"),
    ("DMTF:CQL", "SELECT CLASSQUALIFIER('Abstract') AS q FROM T_Thing", 8,
     "function CLASSQUALIFIER is not supported: qualifier values"),
    ("DMTF:CQL", "SELECT PROPERTYQUALIFIER(Name, 'Key') AS q FROM T_Thing", 8,
     "function PROPERTYQUALIFIER is not supported"),
    *(("DMTF:CQL", f"SELECT {name}(State) AS q FROM T_Thing", 8,
       f"function {name} is not supported: an aggregation")
      for name in ("MIN", "MAX", "SUM", "MEAN", "MEDIAN")),
    ("DMTF:CQL", "SELECT t.Name.* FROM T_Thing AS t", 8, "'.*' follows the name of the FROM"),
    ("DMTF:CQL", "SELECT t.* AS x FROM T_Thing AS t", 15, "'.*' cannot be named"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE State +", 36, "ends early"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE State * * 2 = 1", 37, "unexpected '*'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE UPPERCASE(Name = 'a'", 44, "unexpected '='"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE (State + 1 = 3", 43, "ends early; expected ')'"),
    ("DMTF:CQL", "SELECT FIRST x Name FROM T_Thing", 14, "unexpected 'x'"),
    ("DMTF:CQL", "SELECT State + 1 AS FROM T_Thing", 26, "unexpected 'T_Thing'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Name | 'x' = 'a'", 34, "unexpected character '|'"),
    # WQL and DMTF:FQL have no arithmetic
    ("WQL", "SELECT * FROM T_Thing WHERE State + 1 = 3", 35, "unexpected"),
    ("WQL", "SELECT State + 1 AS s FROM T_Thing", 14, "unexpected"),
    ("WQL", "SELECT * FROM T_Thing WHERE UPPERCASE(Name) = 'A'", 38, "unexpected"),
    ("DMTF:FQL", "State * 2 = 4", 7, "unexpected"),
    ("DMTF:FQL", "Name || 'x' = 'a'", 6, "unexpected"),
    ("DMTF:FQL", "- State = 1", 3, "unexpected"),
]


@pytest.mark.parametrize("language, text, position, words", READ_ERRORS,
                         ids=[t for _, t, _, _ in READ_ERRORS])
def test_read_errors_name_position_and_reason(language, text, position, words):
    assert_invalid(position, words, language, text)


@pytest.mark.parametrize("language, condition", [
    ("WQL", "State > -1"), ("WQL", "State = +2"), ("DMTF:FQL", "State > -1"),
    ("DMTF:FQL", "Sizes = {1, +2, 3}"), ("DMTF:CQL", "Sizes <> {-1, 2, 3}"),
])
def test_signed_numbers_in_every_language(language, condition):
    text = condition if language == "DMTF:FQL" else f"SELECT * FROM T_Thing WHERE {condition}"
    assert parse(language, text, schema=SCHEMA, class_name="T_Thing").matches(thing())


# --- the SELECT list, DISTINCT, FIRST, ORDER BY ------------------------------------------------


def test_computed_columns_are_shown_in_order_with_their_types():
    query = parse("DMTF:CQL", "SELECT Name, State + 1 AS Next, UPPERCASE(Name) AS shout, "
                             "Created - Created AS zero, Sizes AS s, Setting AS embedded, "
                             "Host AS h FROM T_Thing", schema=SCHEMA)
    shown = next(query.select([thing()]))
    assert list(shown.properties) == ["Name", "Next", "shout", "zero", "s", "embedded", "h"]
    assert [(p.type, p.is_array) for p in shown.properties.values()] == [
        ("string", False), ("sint64", False), ("string", False), ("datetime", False),
        ("uint32", True), ("string", False), ("reference", False)]
    assert shown.properties["embedded"].embedded_object == "instance"
    assert shown.path == thing().path
    assert query.property_list == ["name"]
    assert [(name, holds.cimtype) for name, holds in query.computed_columns()] == [
        ("Next", "sint64"), ("shout", "string"), ("zero", "datetime"), ("s", "uint32"),
        ("embedded", "string"), ("h", "reference")]


def test_a_null_computed_column_keeps_its_declared_type():
    query = parse("DMTF:CQL", "SELECT State + 1 AS n, Setting AS e FROM T_Thing", schema=SCHEMA)
    shown = next(query.select([thing(State=None, Setting=None)]))
    assert [(p.value, p.type, p.embedded_object) for p in shown.properties.values()] == [
        (None, "sint64", None), (None, "string", "instance")]


def test_computed_columns_without_a_schema_take_their_values_types():
    query = parse("DMTF:CQL", "SELECT State * 2 AS d, 'x' || Name AS s, 1 AS one, Tags AS t, "
                             "Caption AS c FROM T_Thing")
    shown = next(query.select([thing()]))
    assert [(p.name, p.value, p.type) for p in shown.properties.values()] == [
        ("d", 4, "sint64"), ("s", "xweb1", "string"), ("one", 1, "sint64"),
        ("t", ["a", "b", "web"], "string"), ("c", None, "string")]


def test_everything_and_computed_columns():
    query = parse("DMTF:CQL", "SELECT t.*, State * 2 AS Double FROM T_Thing AS t", schema=SCHEMA)
    shown = next(query.select([thing()]))
    assert list(shown.properties)[-1] == "Double" and "Emulator" in shown.properties
    assert query.property_list is None


def things():
    return [thing(Name=name, State=Uint16(state), Sizes=[Uint32(size)])
            for name, state, size in (("b", 2, 5), ("a", 3, 5), ("c", 2, 1), ("d", 1, 1))]


@pytest.mark.parametrize("statement, expected", [
    ("SELECT Name FROM T_Thing ORDER BY State", ["d", "b", "c", "a"]),
    ("SELECT Name FROM T_Thing ORDER BY State DESC, Name", ["a", "b", "c", "d"]),
    ("SELECT Name FROM T_Thing ORDER BY -State, Name DESC", ["a", "c", "b", "d"]),
    ("SELECT Name FROM T_Thing ORDER BY State * 10 + Sizes[0]", ["d", "c", "b", "a"]),
    ("SELECT Name FROM T_Thing ORDER BY UPPERCASE(Name) DESC", ["d", "c", "b", "a"]),
    ("SELECT Name FROM T_Thing ORDER BY Sizes[0], Name", ["c", "d", "a", "b"]),
    ("SELECT FIRST 2 Name FROM T_Thing ORDER BY Name", ["a", "b"]),
    ("SELECT FIRST 0 Name FROM T_Thing", []),
    ("SELECT FIRST 9 Name FROM T_Thing ORDER BY Name DESC", ["d", "c", "b", "a"]),
    ("SELECT FIRST 1 Name FROM T_Thing WHERE State = 2", ["b"]),
])
def test_order_by_and_first(statement, expected):
    query = parse("DMTF:CQL", statement, schema=SCHEMA)
    assert [inst["Name"] for inst in query.select(things())] == expected


@pytest.mark.parametrize("statement, expected", [
    ("SELECT DISTINCT State FROM T_Thing", [2, 3, 1]),
    ("SELECT DISTINCT State FROM T_Thing ORDER BY State DESC", [3, 2, 1]),
    ("SELECT DISTINCT FIRST 2 State FROM T_Thing ORDER BY State", [1, 2]),
    ("SELECT FIRST 2 DISTINCT State FROM T_Thing ORDER BY State", [1, 2]),
    ("SELECT DISTINCT State * 0 AS State FROM T_Thing", [0]),
    ("SELECT State FROM T_Thing", [2, 3, 2, 1]),
    ("SELECT DISTINCT Sizes AS State FROM T_Thing", [[5], [1]]),
])
def test_distinct(statement, expected):
    query = parse("DMTF:CQL", statement, schema=SCHEMA)
    assert [inst["State"] for inst in query.select(things())] == expected


def test_distinct_compares_every_shown_value():
    query = parse("DMTF:CQL", "SELECT DISTINCT State, Sizes FROM T_Thing", schema=SCHEMA)
    assert len(list(query.select(things()))) == 4
    whole = parse("DMTF:CQL", "SELECT DISTINCT * FROM T_Thing", schema=SCHEMA)
    assert len(list(whole.select(things() + things()))) == 4


def test_first_stops_reading_instances():
    read = []

    def instances():
        for inst in things():
            read.append(inst["Name"])
            yield inst

    query = parse("DMTF:CQL", "SELECT FIRST 1 Name FROM T_Thing", schema=SCHEMA)
    assert [inst["Name"] for inst in query.select(instances())] == ["b"] and read == ["b"]


@pytest.mark.parametrize("text, value", [
    ("'a\\bb'", "a\bb"), ("'a\\fb'", "a\fb"), ("'\\u00e9t\\u00E9'", "été"), ("'tab\\there'", "tab\there"),
])
def test_string_escapes(text, value):
    assert column(text) == (value, "string")


@pytest.mark.parametrize("where, expected", [
    ("SourceInstance.T_Thing::State - PreviousInstance.T_Thing::State = -1", True),
    ("SourceInstance.T_Thing::Memory * 2 > PreviousInstance.T_Thing::Memory", True),
    ("UPPERCASE(SourceInstance.T_Thing::Name) = 'WEB1'", True),
    ("OBJECTPATH(SourceInstance) = 'T_KVMThing.Name=\"web1\"'", True),
    ("CLASSPATH(PreviousInstance) = 'T_KVMThing'", True),
])
def test_indication_filters_with_expressions(where, expected):
    query = parse("DMTF:CQL", f"SELECT * FROM T_InstModification WHERE {where}", schema=SCHEMA)
    indication = CIMInstance("T_InstModification", properties={
        "SourceInstance": thing(), "PreviousInstance": thing(State=Uint16(3))})
    assert query.matches(indication) is expected


# DSP0202 Array Range: the items an index picks, as an array.
@pytest.mark.parametrize("condition, expected", [
    ("Tags[0..1] = {'a', 'b'}", True), ("Tags[1..] = {'b', 'web'}", True),
    ("Tags[..0] = {'a'}", True), ("Tags[..] = Tags", True), ("Tags[0, 2] = {'a', 'web'}", True),
    ("Tags[2, 0] = {'web', 'a'}", True), ("Tags[0..0, 2..] = {'a', 'web'}", True),
    ("Tags[5..] = {}", True), ("Tags[2..1] = {}", True), ("Tags[1..9] = {'b', 'web'}", True),
    ("ANY Tags[1..2] = 'a'", False), ("ANY Tags[0..1] = 'a'", True),
    ("EVERY Sizes[1..] > 1", True), ("EVERY Sizes[..1] > 1", False),
    ("ANY s IN Sizes[1..2] SATISFIES (s = 1)", False), ("Setting.Tags[1..] = {'y'}", True),
    ("NullArray[0..1] IS NULL", True), ("Tags[0] = 'a'", True), ("Tags[*] = Tags", True),
])
def test_array_ranges(condition, expected):
    assert fql_cql(condition) is expected


@pytest.mark.parametrize("language, text, position, words", [
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Name[0..1] = 'a'", 29, "Name is not an array"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags[0..1] = 'a'", 29, "an array is compared with ANY"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags[0...1] = {}", 37, "unexpected '.1'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags[0,] = {}", 36, "unexpected ']'"),
    ("DMTF:FQL", "Tags[0..1] = {}", 7, "unexpected"),
])
def test_array_range_errors(language, text, position, words):
    assert_invalid(position, words, language, text, schema=SCHEMA, class_name="T_Thing")


# Symbolic constants: the value a property's Values qualifier names (State: 2 'Enabled',
# 3 'Disabled', 5 'Not Applicable').
@pytest.mark.parametrize("condition, expected", [
    ("State = State#'Enabled'", True), ("State = State#'enabled'", True),
    ("State#'Enabled' = State", True), ("State = #'Enabled'", True), ("#'Enabled' = State", True),
    ("State <> #'Disabled'", True), ("State = #'Disabled'", False),
    ("T_Thing.State#'Enabled' = 2", True), ("t.State#'Not Applicable' = 5", True),
    ("T_Thing::State#'Disabled' = 3", True), ("t.T_Thing::State = #'Enabled'", True),
    ("State + 1 = State#'Disabled'", True), ("State#'Disabled' - State#'Enabled' = 1", True),
    ("State = #'Enabled' AND Name = 'web1'", True),
])
def test_symbolic_constants(condition, expected):
    query = parse("DMTF:CQL", f"SELECT * FROM T_Thing AS t WHERE {condition}", schema=SCHEMA)
    assert query.matches(thing()) is expected


def test_symbolic_constants_as_columns():
    query = parse("DMTF:CQL", "SELECT State#'Disabled' AS off FROM T_Thing", schema=SCHEMA)
    assert next(query.select([thing()])).properties["off"].value == 3


@pytest.mark.parametrize("text, position, words", [
    ("SELECT * FROM T_Thing WHERE State = State#'Bogus'", 37,
     "T_Thing.State has no value named 'Bogus'"),
    ("SELECT * FROM T_Thing WHERE Name = #'x'", 36, "T_Thing.Name has no value named 'x'"),
    ("SELECT * FROM T_Thing WHERE #'Enabled' = 2", 29, "#'Enabled' alone stands for a value"),
    ("SELECT * FROM T_Thing WHERE ANY Sizes = #'Enabled'", 41, "alone stands for a value"),
    ("SELECT * FROM T_Thing WHERE T_Host.State#'Enabled' = 2", 29,
     "T_Host has no property 'State'"),
    ("SELECT * FROM T_Thing WHERE T_Nothing.State#'Enabled' = 2", 29, "no class 'T_Nothing'"),
    ("SELECT * FROM T_Thing WHERE Tags[0]#'x' = 'a'", 29, "a symbolic constant follows a property"),
    ("SELECT * FROM T_Thing WHERE State#'Enabled' = 'x'", 29, "a uint16 cannot be compared"),
])
def test_symbolic_constant_errors(text, position, words):
    assert_invalid(position, words, "DMTF:CQL", text, schema=SCHEMA)


def test_keywords_functions_and_aliases_are_case_insensitive():
    query = parse("DMTF:CQL", "select distinct first 2 T.name as N, upperCASE(t.NAME) As u "
                             "from T_Thing As t where T.state + 1 = 3 AND state = #'ENABLED' "
                             "order by t.Name desc", schema=SCHEMA)
    assert [dict(inst.items()) for inst in query.select([thing()])] == [{"N": "web1", "u": "WEB1"}]


def test_literal_columns_take_the_types_their_values_have():
    query = parse("DMTF:CQL", "SELECT NULL AS n, {1, 2} AS a, {1.5, 2} AS r, {} AS e, TRUE AS b, "
                             "'x' AS s, -1 AS i FROM T_Thing", schema=SCHEMA)
    shown = next(query.select([thing()]))
    assert [(p.name, p.value, p.type, p.is_array) for p in shown.properties.values()] == [
        ("n", None, "string", False), ("a", [1, 2], "sint64", True),
        ("r", [1.5, 2.0], "real64", True), ("e", [], "string", True),
        ("b", True, "boolean", False), ("s", "x", "string", False), ("i", -1, "sint64", False)]


# An indication filter over the model's own classes (the interop namespace's schema).
def _modification(state: int, previous: int) -> CIMInstance:
    def guest(value: int) -> CIMInstance:
        return CIMInstance("KVM_ComputerSystem", properties=[
            CIMProperty("EnabledState", Uint16(value)), CIMProperty("Name", "web1")])
    return CIMInstance("CIM_InstModification", properties={
        "SourceInstance": guest(state), "PreviousInstance": guest(previous)})


def test_indication_filters_compute_and_name_values(repository):
    guest_state = "SourceInstance.CIM_ComputerSystem::EnabledState"
    flt = compile_filter(
        "DMTF:CQL", "SELECT * FROM CIM_InstModification WHERE SourceInstance ISA "
                    f"CIM_ComputerSystem AND {guest_state} = #'Enabled' AND "
                    f"PreviousInstance.CIM_ComputerSystem::EnabledState - {guest_state} = 1 AND "
                    "UPPERCASE(SourceInstance.CIM_ComputerSystem::Name) = 'WEB1'",
        repository, "root/interop")
    assert flt.matches(_modification(2, 3))
    assert not flt.matches(_modification(3, 2)) and not flt.matches(_modification(2, 4))
