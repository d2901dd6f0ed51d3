"""The query languages' grammars: what each reads, and every error naming its position."""

from __future__ import annotations

import pytest
from pywbem import CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED, CIMError

from tests.unit.query_model import FakeSchema, assert_invalid
from virtcim.query import CQL, FILTER_LANGUAGES, FQL, QUERY_LANGUAGES, WQL, parse

SCHEMA = FakeSchema()


@pytest.mark.parametrize("language, text, class_name, selected", [
    ("WQL", "SELECT * FROM T_Thing", "T_Thing", None),
    ("WQL", "select * from T_Thing", "T_Thing", None),
    ("WQL", "SeLeCt Name FrOm T_Thing", "T_Thing", ["name"]),
    ("WQL", "SELECT Name, State FROM T_Thing WHERE State = 2", "T_Thing", ["name", "state"]),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'a' OR NOT State < 3", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE Caption IS NOT NULL", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE Setting ISA T_Setting", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE Name LIKE 'w%'", "T_Thing", None),
    ("WQL", "  SELECT\n*\tFROM   T_Thing  ", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = \"double\"", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE State = 0x1f", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE Load > -1.5e3", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE Enabled = true", "T_Thing", None),
    ("WQL", "SELECT * FROM T_Thing WHERE Name <> 'x' AND Name != 'y'", "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing", "T_Thing", None),
    ("dmtf:cql", "SELECT * FROM T_Thing", "T_Thing", None),
    ("CQL", "SELECT * FROM T_Thing", "T_Thing", None),
    ("CIM:CQL", "SELECT * FROM T_Thing", "T_Thing", None),
    ("DMTF:CQL", "SELECT t.Name FROM T_Thing AS t", "T_Thing", ["name"]),
    ("DMTF:CQL", "SELECT t.Name, t.State FROM T_Thing t WHERE t.State = 2", "T_Thing",
     ["name", "state"]),
    ("DMTF:CQL", "SELECT T_Thing.Name FROM T_Thing", "T_Thing", ["name"]),
    ("DMTF:CQL", "SELECT * FROM T_Thing ORDER BY Name", "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing ORDER BY Name ASC, State DESC", "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE ANY Tags = 'a' ORDER BY Name", "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE EVERY x IN Sizes SATISFIES (x > 0)",
     "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags[0] = 'a' AND Tags = {'a'}", "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Setting.T_Setting::Size > 1", "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE T_KVMThing::Emulator = 'qemu'", "T_Thing", None),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Name NOT LIKE 'x.*'", "T_Thing", None),
    ("DMTF:FQL", "Name = 'a'", "T_Thing", None),
    ("dmtf:fql", "Name = 'a' AND (State = 2 OR ANY Tags = 'x')", "T_Thing", None),
    ("DMTF:FQL", "NOT Caption IS NULL", "T_Thing", None),
])
def test_statements_read(language, text, class_name, selected):
    query = parse(language, text, schema=SCHEMA, class_name="T_Thing")
    assert query.class_name == class_name
    assert query.property_list == selected


def test_parentheses_nest_without_limit_and_cost_no_depth():
    text = "Name = 'web1'"
    for _ in range(500):
        text = f"({text})"
    assert parse("DMTF:FQL", text, schema=SCHEMA, class_name="T_Thing").condition is not None


def test_the_same_text_is_read_once():
    a = parse("WQL", "SELECT * FROM T_Thing WHERE Name = 'cached'")
    b = parse("WQL", "SELECT * FROM T_Thing WHERE Name = 'cached'")
    assert a.condition is b.condition


# Each bad query: language, text, the position (from 1) the error names, and words it says.
SYNTAX_ERRORS = [
    ("WQL", "", 1, "ends early"),
    ("WQL", "SELECT", 7, "ends early"),
    ("WQL", "SELECT *", 9, "ends early; expected FROM"),
    ("WQL", "SELECT * FROM", 14, "ends early; expected a name"),
    ("WQL", "SELECT * FORM T_Thing", 10, "unexpected 'FORM'"),
    ("WQL", "SELECT * FROM T_Thing WHERE", 28, "ends early"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name =", 35, "ends early"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'open", 36, "unexpected character"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name == 'x'", 35, "unexpected '='"),
    ("WQL", "SELECT * FROM T_Thing WHERE (Name = 'x'", 40, "ends early; expected ')'"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'x')", 39, "unexpected ')'; expected the end"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'x' AND", 43, "ends early"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'x' extra", 40, "unexpected 'extra'"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name IS 'x'", 37, "expected NOT or NULL"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'x' ; DROP", 40, "unexpected character ';'"),
    ("WQL", "SELECT * FROM T_Thing WHERE ANY Tags = 'a'", 33, "unexpected 'Tags'"),
    ("WQL", "SELECT * FROM T_Thing WHERE Tags[0] = 'a'", 33, "unexpected character '['"),
    ("WQL", "SELECT * FROM T_Thing ORDER BY Name", 23, "expected WHERE or the end"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'a\\qb'", 38, "unknown escape"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = @", 36, "unexpected character '@'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags = {'a', {'b'}}", 42,
     "array literal holds single values"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags = {'a', NULL}", 42,
     "array literal holds single values"),
    ("DMTF:CQL", "SELECT * FROM T_Thing ORDER", 28, "ends early; expected BY"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE ANY t IN Tags SATISFIES t = 1", 53, "expected '('"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags[x] = 'a'", 34, "unexpected 'x'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE " + "NOT " * 70 + "Name = 'a'", 285,
     "conditions nested deeper than 64 levels"),
    ("DMTF:FQL", "", 1, "ends early"),
    ("DMTF:FQL", "Name", 5, "ends early"),
    ("DMTF:FQL", "SELECT * FROM T_Thing", 8, "unexpected '*'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Setting.T_Setting:Size = 1", 46,
     "unexpected character ':'"),
    ("DMTF:FQL", "Name = 'a' OR", 14, "ends early"),
    ("DMTF:FQL", "= 'a'", 1, "unexpected '='"),
    ("DMTF:FQL", "Name = 'a' 'b'", 12, "unexpected"),
]


@pytest.mark.parametrize("language, text, position, words", SYNTAX_ERRORS,
                         ids=[t or "empty" for _, t, _, _ in SYNTAX_ERRORS])
def test_syntax_errors_name_position_and_reason(language, text, position, words):
    assert_invalid(position, words, language, text)


# Queries that read but do not fit the class: checked against the schema.
CLASS_ERRORS = [
    ("WQL", "SELECT * FROM T_Nothing", 15, "no class 'T_Nothing'"),
    ("WQL", "SELECT Bogus FROM T_Thing", 8, "T_Thing has no property 'Bogus'"),
    ("WQL", "SELECT * FROM T_Thing WHERE Bogus = 1", 29, "has no property 'Bogus'"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 'a' OR Bogus IS NULL", 43, "'Bogus'"),
    ("WQL", "SELECT * FROM T_Thing WHERE Emulator = 'qemu'", 29, "no property 'Emulator'"),
    ("WQL", "SELECT * FROM T_Thing WHERE State = 'two'", 29,
     "a uint16 cannot be compared with a string"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name = 2", 29, "a string cannot be compared with a number"),
    ("WQL", "SELECT * FROM T_Thing WHERE Enabled = 1", 29, "boolean cannot be compared"),
    ("WQL", "SELECT * FROM T_Thing WHERE Tags = 'a'", 29, "an array is compared with ANY"),
    ("WQL", "SELECT * FROM T_Thing WHERE Created = 'yesterday'", 39, "is not a CIM datetime"),
    ("WQL", "SELECT * FROM T_Thing WHERE Host = 'not a path'", 36, "is not a CIM reference"),
    ("WQL", "SELECT * FROM T_Thing WHERE Host < 'T_Host.Name=\"h\"'", 29,
     "references compare with = and <> only"),
    ("WQL", "SELECT * FROM T_Thing WHERE State LIKE 'a'", 29, "LIKE needs a string"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name LIKE 3", 39, "a LIKE pattern is a string"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name LIKE '[a'", 39, "never closed"),
    ("WQL", "SELECT * FROM T_Thing WHERE Setting ISA T_Nothing", 29, "no class 'T_Nothing'"),
    ("WQL", "SELECT * FROM T_Thing WHERE Name.Part = 'a'", 29, "Name is not an embedded instance"),
    ("WQL", "SELECT Setting.Size FROM T_Thing", 8, "only properties of T_Thing"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE ANY Name = 'a'", 33, "ANY and EVERY need an array"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE ANY Tags = 1", 33, "string cannot be compared"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE ANY Tags LIKE 1", 43, "pattern is a string"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Name[0] = 'a'", 29, "Name is not an array"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags < {'a'}", 29, "arrays compare with = and <>"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Tags = {1}", 29, "cannot be compared"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE Name LIKE '*'", 39, "repeats nothing"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE T_Host::Name = 'a'", 29,
     "T_Host is neither a subclass nor a superclass of T_Thing"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE T_Nothing::Name = 'a'", 29, "no class 'T_Nothing'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE ANY x IN Tags SATISFIES (x = 1)", 54,
     "string cannot be compared with a number"),
    ("DMTF:CQL", "SELECT * FROM T_Thing WHERE ANY x IN Tags SATISFIES (y = 'a')", 54,
     "no property 'y'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing ORDER BY Bogus", 32, "no property 'Bogus'"),
    ("DMTF:CQL", "SELECT * FROM T_Thing AS t WHERE u.Name = 'a'", 34, "no property 'u'"),
    ("DMTF:FQL", "Bogus = 1", 1, "T_Thing has no property 'Bogus'"),
    ("DMTF:FQL", "Name = 'a' AND State = 'b'", 16, "cannot be compared"),
    ("DMTF:FQL", "T_Thing.Name = 'a'", 1, "no property 'T_Thing'"),
]


@pytest.mark.parametrize("language, text, position, words", CLASS_ERRORS,
                         ids=[t for _, t, _, _ in CLASS_ERRORS])
def test_queries_that_do_not_fit_the_class_are_invalid(language, text, position, words):
    assert_invalid(position, words, language, text, schema=SCHEMA, class_name="T_Thing")


@pytest.mark.parametrize("language, accept", [
    ("SQL", QUERY_LANGUAGES | FILTER_LANGUAGES), ("", QUERY_LANGUAGES), ("XPath", QUERY_LANGUAGES),
    ("DMTF:FQL", QUERY_LANGUAGES), ("WQL", FILTER_LANGUAGES), ("DMTF:CQL", FILTER_LANGUAGES),
])
def test_unknown_or_unaccepted_languages(language, accept):
    with pytest.raises(CIMError) as exc:
        parse(language, "SELECT * FROM T_Thing", accept=accept)
    assert exc.value.status_code == CIM_ERR_QUERY_LANGUAGE_NOT_SUPPORTED
    assert repr(language) in exc.value.status_description


def test_language_names():
    assert (WQL, CQL, FQL) == ("WQL", "DMTF:CQL", "DMTF:FQL")
    assert parse(" wql ", "SELECT * FROM T_Thing").language == WQL
