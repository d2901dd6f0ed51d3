"""The query engine's evaluation, table by table: every CIM type, NULLs, arrays,
datetimes, references, embedded instances, case-insensitive names, string escapes,
precedence, LIKE in both dialects, ISA, ORDER BY, projection and push-down equalities."""

from __future__ import annotations

import pytest
from pywbem import CIMInstance, Uint16

from tests.unit.query_model import FakeSchema, thing
from virtcim.query import parse
from virtcim.query.patterns import PatternError, like

SCHEMA = FakeSchema()


def fql(condition: str, instance: CIMInstance | None = None) -> bool:
    query = parse("DMTF:FQL", condition, schema=SCHEMA, class_name="T_KVMThing")
    return query.matches(instance if instance is not None else thing())


# Each condition, and whether it holds for thing().
CONDITIONS = [
    # strings: exact, case-sensitive, every operator
    ("Name = 'web1'", True), ("Name = 'WEB1'", False), ("Name <> 'web1'", False),
    ("Name != 'web2'", True), ("Name < 'web2'", True), ("Name > 'web0'", True),
    ("Name <= 'web1'", True), ("Name >= 'web1'", True), ("Name < 'web1'", False),
    ("Name = \"web1\"", True), ("'web1' = Name", True), ("'web2' > Name", True),
    ("ElementName = 'Web server'", True), ("Letter = 'w'", True),
    # names of properties and keywords are case-insensitive
    ("NAME = 'web1'", True), ("name = 'web1'", True), ("nAmE='web1'", True),
    ("name = 'web1' and state = 2", True), ("Name = 'web1' AnD NoT State = 3", True),
    ("elementname IS NOT NULL", True), ("caption is null", True),
    # integers of every width, reals, hex, signs
    ("State = 2", True), ("State = 2.0", True), ("State <> 2", False), ("State < 3", True),
    ("State > 1", True), ("State >= 2", True), ("State <= 1", False), ("State = +2", True),
    ("State > -1", True), ("State = 0x2", True), ("State = 0X02", True),
    ("Memory = 4096", True), ("Memory > 4095", True), ("Memory = 4096.0", True),
    ("Memory < 1e4", True), ("Memory > 4.095E3", True), ("Load = 0.5", True),
    ("Load < 1", True), ("Load > .25", True), ("Load = 5e-1", True), ("Load >= 0.6", False),
    ("Memory = 18446744073709551615", False),
    # booleans
    ("Enabled = TRUE", True), ("Enabled = true", True), ("Enabled = FALSE", False),
    ("Enabled <> FALSE", True), ("NOT Enabled = FALSE", True),
    # NULL: unknown in every comparison, so neither a condition nor its negation holds
    ("Caption = 'x'", False), ("Caption <> 'x'", False), ("NOT Caption = 'x'", False),
    ("NOT Caption <> 'x'", False), ("Caption IS NULL", True), ("Caption IS NOT NULL", False),
    ("NOT Caption IS NULL", False), ("Caption = NULL", False), ("Name IS NULL", False),
    ("Caption = 'x' OR Name = 'web1'", True), ("Caption = 'x' AND Name = 'web1'", False),
    ("NOT (Caption = 'x' AND Name = 'web2')", True),
    ("NOT (Caption = 'x' OR Name = 'web2')", False),
    ("NullArray IS NULL", True), ("Empty IS NULL", False), ("Empty IS NOT NULL", True),
    # precedence: NOT before AND before OR; parentheses
    ("Name = 'x' AND State = 2 OR Enabled = TRUE", True),
    ("Name = 'x' AND (State = 2 OR Enabled = TRUE)", False),
    ("Enabled = TRUE OR State = 2 AND Name = 'x'", True),
    ("(Enabled = TRUE OR State = 2) AND Name = 'x'", False),
    ("NOT Name = 'x' AND State = 2", True), ("NOT (Name = 'web1' AND State = 2)", False),
    ("NOT NOT Name = 'web1'", True), ("NOT (NOT (Name = 'web1'))", True),
    ("Name = 'a' OR Name = 'b' OR Name = 'web1'", True),
    ("Name = 'web1' AND State = 2 AND Enabled = TRUE AND Memory = 4096", True),
    ("((Name = 'web1'))", True),
    # string escapes: doubled quotes, backslashes, \\uXXXX
    ("Quote = 'it''s \"q\"'", True), ("Quote = 'it\\'s \\\"q\\\"'", True),
    ("Quote = \"it's \"\"q\"\"\"", True), ("Folder = 'C:\\\\dir\\\\x'", True),
    ("Name = '\\u0077eb1'", True), ("Name = 'web1 '", False),
    # arrays: ANY and EVERY, items, whole-array comparison
    ("ANY Tags = 'web'", True), ("ANY Tags = 'zzz'", False), ("EVERY Tags <> 'zzz'", True),
    ("EVERY Tags = 'a'", False), ("ANY Sizes > 2", True), ("EVERY Sizes > 0", True),
    ("EVERY Sizes > 1", False), ("ANY Sizes = 2.0", True), ("any tags = 'a'", True),
    ("ANY Tags[*] = 'b'", True), ("Tags[0] = 'a'", True), ("Tags[2] = 'web'", True),
    ("Tags[3] = 'web'", False), ("Tags[3] IS NULL", True), ("Sizes[1] = 2", True),
    ("ANY Empty = 'a'", False), ("EVERY Empty = 'a'", True), ("ANY NullArray = 'a'", False),
    ("NOT ANY NullArray = 'a'", False), ("NOT ANY Tags = 'zzz'", True),
    ("Tags = {'a', 'b', 'web'}", True), ("Tags = {'a', 'b'}", False),
    ("Tags <> {'a', 'b'}", True), ("Sizes = {1, 2, 3}", True), ("Empty = {}", True),
    ("Tags = {'b', 'a', 'web'}", False),
    ("ANY t IN Tags SATISFIES (t = 'b')", True), ("EVERY t IN Sizes SATISFIES (t < 4)", True),
    ("EVERY s IN Sizes SATISFIES (s > 1 OR s = 1)", True),
    ("ANY s IN Sizes SATISFIES (s > 2 AND s < 3)", False),
    ("ANY t IN Tags SATISFIES (t LIKE 'w.*')", True), ("ANY Tags LIKE 'w.*'", True),
    ("EVERY Tags LIKE '.'", False),
    # datetimes: timestamps by instant (time zones included), intervals by length
    ("Created = '20240301120000.000000+000'", True),
    ("Created = '20240301130000.000000+060'", True),
    ("Created > '20240101000000.000000+000'", True), ("Created < '20240101000000.000000+000'", False),
    ("Created <> '20240301120000.000000+000'", False),
    ("Uptime = '00000001020304.000000:000'", True), ("Uptime > '00000001000000.000000:000'", True),
    ("Uptime < '00000002000000.000000:000'", True),
    ("Uptime = '20240301120000.000000+000'", False),
    ("Created = '00000001020304.000000:000'", False),
    ("ANY Dates < '20240201000000.000000+000'", True),
    # references: by class and keys, with or without a namespace, case-insensitive class
    ("Host = 'T_Host.Name=\"h1\"'", True), ("Host = 'root/test:T_Host.Name=\"h1\"'", True),
    ("Host = 't_host.name=\"h1\"'", True), ("Host = 'T_Host.Name=\"h2\"'", False),
    ("Host <> 'T_Host.Name=\"h2\"'", True), ("Host = 'root/other:T_Host.Name=\"h1\"'", False),
    ("Host = 'T_Guest.Name=\"h1\"'", False), ("Host ISA T_Host", True),
    ("Host ISA T_Element", True), ("Host ISA T_Thing", False),
    # embedded instances: paths into them, ISA, scoped names
    ("Setting.InstanceID = 's1'", True), ("Setting.Size > 5", True),
    ("setting.instanceid = 's1'", True), ("Setting.Missing IS NULL", True),
    ("Setting.Missing = 1", False), ("ANY Setting.Tags = 'y'", True), ("Setting.Tags[0] = 'x'", True),
    ("Setting ISA T_Setting", True), ("Setting ISA T_Host", False),
    ("Setting.T_Setting::Size = 10", True), ("Setting.T_Host::Size = 10", False),
    ("T_Thing::Name = 'web1'", True), ("T_KVMThing::Emulator = 'qemu'", True),
    # LIKE, DSP0202/DSP0212 patterns: . any one character, * repeats, [] sets, \\ escapes
    ("Name LIKE 'web1'", True), ("Name LIKE 'web.'", True), ("Name LIKE 'w.*'", True),
    ("Name LIKE '.*1'", True), ("Name LIKE 'WEB.*'", False), ("Name LIKE 'web'", False),
    ("Name LIKE 'w[aeiou]b[0-9]'", True), ("Name LIKE 'w[^e]b1'", False),
    ("Name LIKE 'we*b1'", True), ("Name LIKE 'x*web1'", True), ("Name NOT LIKE 'x.*'", True),
    ("NOT Name LIKE 'x.*'", True), ("Quote LIKE 'it.s \"q\"'", True),
    ("Folder LIKE 'C:\\\\\\\\dir.*'", True), ("Name LIKE '.*.*.*.*.*.*.*.*z'", False),
    ("Caption LIKE '.*'", False), ("Caption NOT LIKE '.*'", False),
]


@pytest.mark.parametrize("condition, expected", CONDITIONS, ids=[c for c, _ in CONDITIONS])
def test_filter_conditions(condition, expected):
    assert fql(condition) is expected


# The same conditions inside CQL and WQL statements (WQL where its subset allows).
@pytest.mark.parametrize("condition, expected", CONDITIONS[:60], ids=[c for c, _ in CONDITIONS[:60]])
def test_cql_where_clause_is_the_filter(condition, expected):
    query = parse("DMTF:CQL", f"SELECT * FROM T_Thing WHERE {condition}", schema=SCHEMA)
    assert query.matches(thing()) is expected


@pytest.mark.parametrize("condition, expected", [
    ("Name LIKE 'web%'", True), ("Name LIKE 'w_b1'", True), ("Name LIKE '%1'", True),
    ("Name LIKE '%'", True), ("Name LIKE 'w%b%'", True), ("Name LIKE 'web'", False),
    ("Name LIKE 'w[a-f]b1'", True), ("Name LIKE 'w[^e]b1'", False), ("Name LIKE 'web.'", False),
    ("Name LIKE 'web1%'", True), ("Name NOT LIKE 'x%'", True), ("Quote LIKE 'it_s%'", True),
    ("Name = 'web1' AND State = 2", True), ("Caption IS NULL OR Name = 'x'", True),
    ("Setting ISA T_Setting", True), ("Setting.Size = 10", True),
    ("Created = '20240301120000.000000+000'", True),
    ("Host = 'T_Host.Name=\"h1\"'", True),
])
def test_wql_where_clause(condition, expected):
    query = parse("WQL", f"select * from T_Thing where {condition}", schema=SCHEMA)
    assert query.matches(thing()) is expected


@pytest.mark.parametrize("statement, expected", [
    ("SELECT * FROM T_Thing AS t WHERE t.Name = 'web1'", True),
    ("SELECT * FROM T_Thing t WHERE t.State = 2", True),
    ("SELECT * FROM T_Thing WHERE T_Thing.Name = 'web1'", True),
    ("SELECT * FROM T_Thing AS t WHERE t ISA T_KVMThing", True),
    ("SELECT * FROM T_Thing AS t WHERE t ISA T_Host", False),
    ("SELECT * FROM T_Element WHERE T_Element ISA T_Thing", True),
    ("SELECT * FROM T_Thing AS t WHERE t.Setting.Size = 10", True),
])
def test_cql_names_for_the_instance(statement, expected):
    assert parse("DMTF:CQL", statement, schema=SCHEMA).matches(thing()) is expected


@pytest.mark.parametrize("language, where, expected", [
    ("WQL", "SourceInstance ISA T_Thing", True),
    ("WQL", "SourceInstance ISA T_Host", False),
    ("DMTF:CQL", "SourceInstance ISA T_Thing AND SourceInstance.T_Thing::State <> "
                 "PreviousInstance.T_Thing::State", True),
    ("DMTF:CQL", "SourceInstance.T_Thing::State = 2 AND PreviousInstance.State = 3", True),
    ("DMTF:CQL", "SourceInstance.T_Host::Name = 'web1'", False),
    ("DMTF:CQL", "SourceInstance.Name = PreviousInstance.Name", True),
    ("WQL", "SourceInstance.Memory > PreviousInstance.Memory", False),
])
def test_indication_filters(language, where, expected):
    """What indication filters ask of an instance-modification indication."""
    query = parse(language, f"SELECT * FROM T_InstModification WHERE {where}", schema=SCHEMA)
    indication = CIMInstance("T_InstModification", properties={
        "SourceInstance": thing(), "PreviousInstance": thing(State=Uint16(3))})
    assert query.matches(indication) is expected


def test_isa_without_schema_compares_class_names():
    query = parse("DMTF:CQL", "SELECT * FROM T_Thing AS t WHERE t ISA t_kvmthing")
    assert query.matches(thing()) and not query.matches(thing("T_Thing"))


def test_projection_keeps_the_selected_properties_and_the_path():
    query = parse("WQL", "SELECT name, State FROM T_Thing", schema=SCHEMA)
    shown = query.project(thing())
    assert list(shown.properties) == ["Name", "State"]
    assert shown.path == thing().path
    assert query.property_list == ["name", "state"]
    assert parse("WQL", "SELECT * FROM T_Thing").project(thing()) is not None
    assert parse("WQL", "SELECT * FROM T_Thing").property_list is None


def test_projection_by_alias():
    query = parse("DMTF:CQL", "SELECT t.Memory FROM T_Thing AS t", schema=SCHEMA)
    assert list(query.project(thing()).properties) == ["Memory"]


def test_order_by_sorts_with_nulls_first_and_descending():
    things = [thing(Name=name, State=Uint16(state)) for name, state in
              (("b", 2), ("a", 3), ("c", 2), ("d", 1))]
    things.append(thing(Name="e", State=None))
    by_state = parse("DMTF:CQL", "SELECT * FROM T_Thing ORDER BY State, Name DESC",
                     schema=SCHEMA)
    assert [t["Name"] for t in by_state.sorted(things)] == ["e", "d", "c", "b", "a"]
    by_name = parse("DMTF:CQL", "SELECT * FROM T_Thing ORDER BY Name DESC", schema=SCHEMA)
    assert [t["Name"] for t in by_name.sorted(things)] == ["e", "d", "c", "b", "a"]
    by_created = parse("DMTF:CQL", "SELECT * FROM T_Thing ORDER BY Created ASC", schema=SCHEMA)
    assert len(by_created.sorted(things)) == 5


@pytest.mark.parametrize("condition, expected", [
    ("Name = 'web1'", {"name": {"web1"}}),
    ("'web1' = Name", {"name": {"web1"}}),
    ("Name = 'a' OR Name = 'b'", {"name": {"a", "b"}}),
    ("Name = 'a' AND State = 2", {"name": {"a"}, "state": {2}}),
    ("Name = 'a' AND Name = 'b'", {"name": set()}),
    ("(Name = 'a' OR Name = 'b') AND Name = 'b'", {"name": {"b"}}),
    ("Name = 'a' OR State = 2", {}),
    ("NOT Name = 'a'", {}),
    ("Name <> 'a'", {}),
    ("Name LIKE 'a'", {}),
    ("Setting.InstanceID = 's1'", {}),
    ("Tags[0] = 'a'", {}),
    ("ANY Tags = 'a'", {}),
    ("Name = 'a' AND ANY Tags = 'a'", {"name": {"a"}}),
])
def test_equalities_a_provider_may_look_up(condition, expected):
    query = parse("DMTF:FQL", condition, schema=SCHEMA, class_name="T_Thing")
    assert {name: set(values) for name, values in query.equalities().items()} == expected


def test_equalities_through_the_alias():
    query = parse("DMTF:CQL", "SELECT * FROM T_Thing AS t WHERE t.Name = 'a'", schema=SCHEMA)
    assert query.equalities() == {"name": frozenset({"a"})}


@pytest.mark.parametrize("dialect, pattern, text, expected", [
    ("regex", "", "", True), ("regex", "", "a", False), ("regex", "a*", "", True),
    ("regex", "a*", "aaaa", True), ("regex", "a*b", "aaab", True), ("regex", ".*", "xyz", True),
    ("regex", "a.c", "abc", True), ("regex", "a.c", "ac", False), ("regex", "a\\.c", "a.c", True),
    ("regex", "a\\.c", "abc", False), ("regex", "a\\*", "a*", True), ("regex", "[abc]*", "cab", True),
    ("regex", "[a-c]x", "bx", True), ("regex", "[^a-c]x", "bx", False), ("regex", "[]]", "]", True),
    ("regex", "%", "%", True), ("regex", "_", "_", True), ("regex", "(a)", "(a)", True),
    ("regex", "a+", "a+", True), ("regex", ".*.*.*.*.*.*.*.*.*.*.*.*b", "a" * 2000, False),
    ("sql", "%", "", True), ("sql", "%", "anything", True), ("sql", "a%", "abc", True),
    ("sql", "%c", "abc", True), ("sql", "a_c", "abc", True), ("sql", "a_c", "ac", False),
    ("sql", ".", "a", False), ("sql", ".", ".", True), ("sql", "*", "*", True),
    ("sql", "[ab]%", "bz", True), ("sql", "%%%%%%%%%%%%%%b", "a" * 2000, False),
    ("sql", "100[%]", "100%", True), ("sql", "a\\b", "a\\b", True),
])
def test_like_patterns(dialect, pattern, text, expected):
    assert like(dialect, pattern, text) is expected


@pytest.mark.parametrize("dialect, pattern", [
    ("regex", "[abc"), ("regex", "abc\\"), ("regex", "*a"), ("sql", "[abc"),
])
def test_unreadable_patterns(dialect, pattern):
    with pytest.raises(PatternError):
        like(dialect, pattern, "x")
