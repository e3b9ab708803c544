//! The register importer's unit tests: every entity from JSON Lines and
//! CSV, a Windows-1250 file with Hungarian headers, a workbook, every
//! validation message, references against what the node holds.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use super::*;
use crate::import::table::parse_workbook;
use crate::import::{Encoding, FileFormat};
use tudashalo_core::register::{IndicatorType, LegalForm, Programme, Role, Status, TargetGroup};

fn reasons(parsed: &RegisterParsed) -> Vec<String> {
    parsed.rejected.iter().map(|r| r.to_string()).collect()
}

fn csv(file: &str, text: &str) -> RegisterParsed {
    let kind = match sniff_kind(file, text.as_bytes()) {
        Some(kind) => kind,
        None => panic!("{file}: not a register header"),
    };
    parse_csv(file, text.as_bytes(), Encoding::Auto, kind).unwrap()
}

fn sniff_kind(file: &str, bytes: &[u8]) -> Option<RegisterKind> {
    match crate::import::table::sniff(file, bytes, Encoding::Auto) {
        Ok(FileFormat::Register(kind)) => Some(kind),
        _ => None,
    }
}

fn jsonl(file: &str, text: &str) -> RegisterParsed {
    let kind = sniff_jsonl(text.lines().next().unwrap()).unwrap();
    parse_jsonl(file, text.as_bytes(), kind).unwrap()
}

fn records(parsed: RegisterParsed) -> RegisterRecords {
    parsed.into_records().0
}

/// What the node holds, for references.
struct Holds {
    organisations: HashSet<&'static str>,
    developments: HashSet<&'static str>,
    documents: HashSet<&'static str>,
}

impl Known for Holds {
    fn organisation(&self, id: &str) -> Result<bool> {
        Ok(self.organisations.contains(id))
    }
    fn development(&self, id: &str) -> Result<bool> {
        Ok(self.developments.contains(id))
    }
    fn document(&self, id: &str) -> Result<bool> {
        Ok(self.documents.contains(id))
    }
}

fn holds() -> Holds {
    Holds {
        organisations: ["o1", "o2"].into(),
        developments: ["EFOP-1"].into(),
        documents: ["jkv-1"].into(),
    }
}

const ORGS_JSONL: &str = r#"{"id":"o1","name":"Tiszakécske Város Önkormányzata","legal_form":"municipality","gfo":321,"register_number":"15724784","tax_number":"15724784-2-03","seat":"Tiszakécske","sectors":["oktatás"],"visibility":"public"}
{"id":"o2","name":"Kécskei Civil Egyesület","legal_form":"civil"}
"#;

#[test]
fn sniffing_jsonl_by_the_first_record() {
    assert_eq!(
        sniff_jsonl(ORGS_JSONL.lines().next().unwrap()),
        Some(RegisterKind::Organisations)
    );
    let kind = |line: &str| sniff_jsonl(line);
    assert_eq!(
        kind(r#"{"id":"d","title":"T","programme":"EFOP"}"#),
        Some(RegisterKind::Developments)
    );
    assert_eq!(
        kind(r#"{"development":"d","indicator":"PR1"}"#),
        Some(RegisterKind::Indicators)
    );
    assert_eq!(kind(r#"{"theme":"víz"}"#), Some(RegisterKind::Groups));
    assert_eq!(
        kind(r#"{"organisation":"o1","name":"Kiss Anna"}"#),
        Some(RegisterKind::Contacts)
    );
    assert_eq!(kind(r#"{"id":"x","title":"T","body":"b"}"#), None);
    assert_eq!(kind("not json"), None);
    assert_eq!(kind("[1,2]"), None);
}

#[test]
fn detect_jsonl_reads_only_a_bounded_first_line() {
    let format = |bytes: &[u8]| crate::import::detect_jsonl(bytes).unwrap();
    assert_eq!(
        format(b"\xEF\xBB\xBF\n\n{\"id\":\"o\",\"name\":\"N\",\"legal_form\":\"civil\"}\n"),
        FileFormat::Register(RegisterKind::Organisations)
    );
    assert_eq!(
        format(b"{\"id\":\"d\",\"title\":\"T\",\"body\":\"\"}\n"),
        FileFormat::Documents
    );
    assert_eq!(format(b""), FileFormat::Documents);
    let mut long = b"{\"legal_form\":\"civil\",\"x\":\"".to_vec();
    long.extend(std::iter::repeat_n(b'a', crate::import::FIRST_LINE_BYTES));
    long.extend(b"\"}\n");
    assert_eq!(format(&long), FileFormat::Documents);
}

#[test]
fn organisations_from_jsonl_and_csv_are_the_same() {
    let from_jsonl = jsonl("szervezetek.jsonl", ORGS_JSONL);
    assert!(from_jsonl.rejected.is_empty(), "{:?}", reasons(&from_jsonl));
    let text = "id;name;legal_form;gfo;register_number;tax_number;seat;sectors;website;visibility\n\
                o1;Tiszakécske Város Önkormányzata;települési önkormányzat;321;15724784;15724784203;Tiszakécske;oktatás;;public\n\
                o2;Kécskei Civil Egyesület;Civil szervezet;;;;;;;\n";
    let from_csv = csv("szervezetek.csv", text);
    assert!(from_csv.rejected.is_empty(), "{:?}", reasons(&from_csv));
    let a = records(from_jsonl);
    assert_eq!(a, records(from_csv));
    let RegisterRecords::Organisations(orgs) = a else {
        panic!("{a:?}")
    };
    assert_eq!(orgs[0].legal_form, LegalForm::Municipality);
    assert_eq!(orgs[0].tax_number.as_deref(), Some("15724784-2-03"));
}

#[test]
fn windows_1250_csv_with_hungarian_headers() {
    let text = "Azonosító;Név;Jogi forma;Törzsszám;Adószám;Székhely;Ágazatok;Honlap;Láthatóság\r\n\
                o1;Tiszakécske Város Önkormányzata;települési önkormányzat;15724784;15724784-2-03;Tiszakécske;oktatás, szociális;https://tiszakecske.hu;\r\n";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1250.encode(text);
    assert!(!unmappable);
    assert_eq!(
        sniff_kind("szervezetek.csv", &bytes),
        Some(RegisterKind::Organisations)
    );
    let parsed = parse_csv(
        "szervezetek.csv",
        &bytes,
        Encoding::Auto,
        RegisterKind::Organisations,
    )
    .unwrap();
    assert!(parsed.rejected.is_empty(), "{:?}", reasons(&parsed));
    let RegisterRecords::Organisations(orgs) = records(parsed) else {
        panic!()
    };
    assert_eq!(orgs[0].name, "Tiszakécske Város Önkormányzata");
    assert_eq!(orgs[0].sectors, vec!["oktatás", "szociális"]);
}

#[test]
fn organisation_checks() {
    let text = "id,name,legal_form,gfo,register_number,tax_number\n\
                o1,A,civil,,1234567,\n\
                o2,B,civil,,,1234\n\
                o3,C,civil,,15724784,15724785-2-03\n\
                o4,D,kft,,,\n\
                o5,,civil,,,\n\
                ,F,civil,,,\n\
                o7,G,civil,1234,,\n\
                o8,H,civil,,,\n\
                o8,H2,civil,,,\n";
    let parsed = csv("szervezetek.csv", text);
    assert_eq!(
        reasons(&parsed),
        vec![
            "szervezetek.csv:2: field \"register_number\": \"1234567\" is not a register number (törzsszám: 8 digits)",
            "szervezetek.csv:3: field \"tax_number\": \"1234\" is not a tax number (adószám: 12345678-1-23)",
            "szervezetek.csv:4: field \"tax_number\": \"15724785-2-03\" does not start with the register number \"15724784\"",
            "szervezetek.csv:5: field \"legal_form\": unknown legal form \"kft\" (expected one of municipality, municipal_association, public_institution, nonprofit_company, civil, church, enterprise, state_body, other)",
            "szervezetek.csv:6: field \"name\": empty",
            "szervezetek.csv:7: field \"id\": empty",
            "szervezetek.csv:8: field \"gfo\": 1234 is not a GFO code (three digits)",
            "szervezetek.csv:10: duplicate id \"o8\" (first at line 9)",
        ]
    );
    let fields: Vec<Option<&str>> = parsed.rejected.iter().map(|r| r.field.as_deref()).collect();
    assert_eq!(fields[7], Some("id"));
    assert_eq!(fields[3], Some("legal_form"));
    assert_eq!(parsed.records.len(), 1);
}

#[test]
fn jsonl_serde_faults_name_the_field() {
    let text = r#"{"id":"o1","name":"A","lgal_form":"civil"}
{"id":"o2","name":"B","legal_form":"kft"}
{"id":"o3","legal_form":"civil"}
{"id":"o4","name":"D","legal_form":"civil","gfo":"321"}
{"id":"o5","name":"E","legal_form":"civil"} x
not json
"#;
    let parsed = parse_jsonl(
        "szervezetek.jsonl",
        text.as_bytes(),
        RegisterKind::Organisations,
    )
    .unwrap();
    let got = reasons(&parsed);
    assert!(
        got[0].starts_with(
            "szervezetek.jsonl:1: field \"lgal_form\": unknown field `lgal_form`, expected one of"
        ),
        "{got:?}"
    );
    assert!(
        got[1].starts_with(
            "szervezetek.jsonl:2: field \"legal_form\": unknown legal form \"kft\" (expected one of municipality,"
        ),
        "{got:?}"
    );
    assert_eq!(
        got[2],
        "szervezetek.jsonl:3: missing required field \"name\""
    );
    assert!(
        got[3].starts_with("szervezetek.jsonl:4: field \"gfo\": invalid type: string \"321\""),
        "{got:?}"
    );
    assert!(
        got[4].starts_with("szervezetek.jsonl:5: not valid JSON: trailing characters"),
        "{got:?}"
    );
    assert!(
        got[5].starts_with("szervezetek.jsonl:6: not valid JSON"),
        "{got:?}"
    );
    let fields: Vec<Option<&str>> = parsed.rejected.iter().map(|r| r.field.as_deref()).collect();
    assert_eq!(
        fields,
        vec![
            Some("lgal_form"),
            Some("legal_form"),
            Some("name"),
            Some("gfo"),
            None,
            None
        ]
    );
    let nested = parse_jsonl(
        "fejlesztesek.jsonl",
        br#"{"id":"d","title":"T","programme":"EFOP","beneficiary":"o1","consortium":[{"organisation":"o1","role":"boss"}],"settlements":["A"],"status":"closed"}"#,
        RegisterKind::Developments,
    )
    .unwrap();
    assert!(
        reasons(&nested)[0].starts_with(
            "fejlesztesek.jsonl:1: field \"consortium\": at consortium[0].role: unknown role \"boss\" (expected one of lead"
        ),
        "{:?}",
        reasons(&nested)
    );
}

const DEVS_CSV: &str = "id;title;summary;programme;call;beneficiary;consortium;settlements;sectors;target_groups;planned_start;planned_end;actual_start;actual_end;total_cost;support;status;documents;visibility\n\
    EFOP-1;Óvodafejlesztés Tiszakécskén;Az óvoda bővítése;EFOP;EFOP-1.5.2-16;o1;o1:lead, o2:konzorciumi tag;\"Tiszakécske; Lakitelek\";oktatás;gyermekek;2017.03.01.;2019-12;2017-04;;125 000 000;100.000.000;lezárt;jkv-1;federated\n";

#[test]
fn developments_from_csv_and_jsonl() {
    let parsed = csv("fejlesztesek.csv", DEVS_CSV);
    assert!(parsed.rejected.is_empty(), "{:?}", reasons(&parsed));
    let RegisterRecords::Developments(devs) = records(parsed) else {
        panic!()
    };
    let d = &devs[0];
    assert_eq!(d.programme, Programme::Efop);
    assert_eq!(d.consortium[1].role, Role::Member);
    assert_eq!(d.settlements, vec!["Tiszakécske", "Lakitelek"]);
    assert_eq!(d.target_groups, vec![TargetGroup::Children]);
    assert_eq!(d.planned_start.as_deref(), Some("2017-03-01"));
    assert_eq!(d.total_cost, Some(125_000_000));
    assert_eq!(d.support, Some(100_000_000));
    assert_eq!(d.status, Status::Closed);
    let line = serde_json::to_string(d).unwrap();
    let again = jsonl("fejlesztesek.jsonl", &line);
    assert!(again.rejected.is_empty(), "{:?}", reasons(&again));
    assert_eq!(records(again), RegisterRecords::Developments(devs));
}

#[test]
fn development_checks() {
    let text = "id,title,programme,beneficiary,consortium,settlements,planned_start,planned_end,total_cost,support,status,target_groups\n\
                d1,T,EFOP,o1,,,,,,,closed,\n\
                d2,T,EFOP,o1,o1:member,A,,,,,closed,\n\
                d3,T,EFOP,o1,,A,2020-01-01,2019-12-31,,,closed,\n\
                d4,T,EFOP,o1,,A,,,100,200,closed,\n\
                d5,T,XYZ,o1,,A,,,,,closed,\n\
                d6,T,EFOP,o1,,A,,,,,kész,\n\
                d7,T,EFOP,o1,,A,2020/01/01,,,,closed,\n\
                d8,T,EFOP,o1,,A,,,1.5,,closed,\n\
                d9,T,EFOP,o1,o2:boss,A,,,,,closed,\n\
                d10,T,EFOP,o1,,A,,,,,closed,senki\n\
                d11,T,EFOP,o1,o1;o2,A,,,,,closed,\n";
    let parsed = csv("fejlesztesek.csv", text);
    assert_eq!(
        reasons(&parsed),
        vec![
            "fejlesztesek.csv:2: field \"settlements\": a development needs at least one settlement",
            "fejlesztesek.csv:3: field \"consortium\": the beneficiary \"o1\" is listed as member; it must be the lead",
            "fejlesztesek.csv:4: field \"planned_end\": \"2019-12-31\" is before planned_start \"2020-01-01\"",
            "fejlesztesek.csv:5: field \"support\": 200 is more than the total cost 100",
            "fejlesztesek.csv:6: field \"programme\": unknown programme \"XYZ\" (expected one of TOP, TOP_PLUSZ, EFOP, VEKOP, KOFOP, GINOP, VP, DOMESTIC, OTHER)",
            "fejlesztesek.csv:7: field \"status\": unknown status \"kész\" (expected one of planned, running, closed, sustainability)",
            "fejlesztesek.csv:8: field \"planned_start\": \"2020/01/01\" is not a date (expected YYYY-MM-DD, YYYY.MM.DD., YYYY-MM or YYYY)",
            "fejlesztesek.csv:9: field \"total_cost\": \"1.5\" is not an amount (whole forints, e.g. 125 000 000)",
            "fejlesztesek.csv:10: field \"consortium\": unknown role \"boss\" (expected one of lead, member, associated)",
            "fejlesztesek.csv:11: field \"target_groups\": unknown target group \"senki\" (expected one of disadvantaged_working_age, unemployed, young_people, children, pupils, roma_pupils, families, elderly, disabled, entrepreneurs, whole_population)",
        ]
    );
    let RegisterRecords::Developments(devs) = records(parsed) else {
        panic!()
    };
    assert_eq!(devs.len(), 1);
    assert_eq!(devs[0].consortium[0].role, Role::Lead);
}

#[test]
fn project_indicator_rows_combine() {
    let text = "fejlesztés;mutató;név;típus;mértékegység;bázisérték;bázisév;célérték;céldátum;időszak;teljesült\n\
                EFOP-1;PR1;Résztvevők;eredmény;fő;0;2016;1 200;2019-12-31;2018;350,5\n\
                EFOP-1;PR1;;;;;;;;2019;1 250\n\
                EFOP-1;PR2;Épületek;output;db;;;2;;;\n\
                EFOP-1;PR1;;;;;;;;2019;1 300\n\
                EFOP-1;PR1;Más név;;;;;;;2020;1\n\
                EFOP-1;PR3;X;output;db;;;0;;;\n\
                EFOP-1;PR4;X;output;db;;;1;;19;1\n\
                EFOP-1;PR5;X;típus;db;;;1;;;\n";
    let parsed = csv("mutatok.csv", text);
    assert_eq!(
        reasons(&parsed),
        vec![
            "mutatok.csv:5: field \"period\": \"2019\" is given twice for this indicator (first at line 2)",
            "mutatok.csv:6: field \"name\": \"Más név\" differs from line 2 \"Résztvevők\" (rows of one development and indicator share its description)",
            "mutatok.csv:7: field \"target\": 0 must be more than 0",
            "mutatok.csv:8: field \"period\": \"19\" is not a year (expected YYYY)",
            "mutatok.csv:9: field \"type\": unknown indicator type \"típus\" (expected one of output, result)",
        ]
    );
    let RegisterRecords::Indicators(indicators) = records(parsed) else {
        panic!()
    };
    assert_eq!(indicators.len(), 2);
    let pr1 = &indicators[0];
    assert_eq!(pr1.indicator_type, IndicatorType::Result);
    assert_eq!(pr1.target, 1200.0);
    assert_eq!(pr1.baseline_year, Some(2016));
    let achieved: Vec<(&str, f64)> = pr1
        .achieved
        .iter()
        .map(|a| (a.period.as_str(), a.value))
        .collect();
    assert_eq!(achieved, vec![("2018", 350.5), ("2019", 1250.0)]);
    assert!(indicators[1].achieved.is_empty());

    let json = jsonl(
        "mutatok.jsonl",
        &format!(
            "{}\n{}\n",
            serde_json::to_string(pr1).unwrap(),
            serde_json::to_string(pr1).unwrap()
        ),
    );
    assert_eq!(
        reasons(&json),
        vec![
            "mutatok.jsonl:2: duplicate indicator \"PR1\" of development \"EFOP-1\" (first at line 1)"
        ]
    );
}

#[test]
fn groups_with_meetings() {
    let text = "id\tname\ttheme\tmembers\tmeetings\tstatus\n\
                g1\tVízügyi munkacsoport\tvíz\to1; o2\t2021-03-04 Alakuló ülés, célok [jkv-1]; 2021.06.10. Második ülés\tműködő\n\
                g2\tX\tvíz\t\t2021-03 Hónap\tactive\n\
                g3\tX\tvíz\t\t2021-03-04 Hibás [jkv\tactive\n";
    let parsed = csv("csoportok.tsv", text);
    assert_eq!(
        reasons(&parsed),
        vec![
            "csoportok.tsv:3: field \"meetings\": \"2021-03\" is not a day (expected YYYY-MM-DD)",
            "csoportok.tsv:4: field \"meetings\": \"2021-03-04 Hibás [jkv\" is not a meeting (expected DATE topic [minutes-id])",
        ]
    );
    let RegisterRecords::Groups(groups) = records(parsed) else {
        panic!()
    };
    let g = &groups[0];
    assert_eq!(g.members, vec!["o1", "o2"]);
    assert_eq!(g.meetings.len(), 2);
    assert_eq!(g.meetings[0].topic.as_deref(), Some("Alakuló ülés, célok"));
    assert_eq!(g.meetings[0].minutes.as_deref(), Some("jkv-1"));
    assert_eq!(g.meetings[1].date, "2021-06-10");
    assert_eq!(g.meetings[1].minutes, None);
    let line = serde_json::to_string(g).unwrap();
    assert_eq!(
        records(jsonl("csoportok.jsonl", &line)),
        RegisterRecords::Groups(groups)
    );
}

#[test]
fn contacts_from_csv_and_jsonl() {
    let text = "Szervezet,Név,Beosztás,E-mail,Telefon\n\
                o1,Kiss Anna,polgármester,kiss.anna@tiszakecske.hu,+36 76 441 011\n\
                o1,Kiss Anna,jegyző,,\n\
                o1,Nagy Béla,,nem-email,\n";
    let parsed = csv("kapcsolatok.csv", text);
    assert_eq!(
        reasons(&parsed),
        vec![
            "kapcsolatok.csv:3: duplicate contact \"Kiss Anna\" of organisation \"o1\" (first at line 2)",
            "kapcsolatok.csv:4: field \"email\": \"nem-email\" is not an e-mail address",
        ]
    );
    let RegisterRecords::Contacts(contacts) = records(parsed) else {
        panic!()
    };
    let line = serde_json::to_string(&contacts[0]).unwrap();
    assert_eq!(
        records(jsonl("kapcsolatok.jsonl", &line)),
        RegisterRecords::Contacts(contacts)
    );
}

#[test]
fn header_faults_refuse_the_file() {
    let err = parse_csv(
        "f.csv",
        b"id;title;programme\nd;T;EFOP\n",
        Encoding::Auto,
        RegisterKind::Developments,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "f.csv: header \"id;title;programme\" lacks the columns beneficiary, settlements, status needed for developments (id,title,programme,beneficiary,settlements,status)"
    );
    let err = parse_csv(
        "f.csv",
        b"id;name;legal_form\n",
        Encoding::Auto,
        RegisterKind::Organisations,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "f.csv: no rows after the header");
    assert!(
        parse_jsonl("f.jsonl", b"\n \n", RegisterKind::Groups)
            .unwrap_err()
            .to_string()
            .contains("empty file")
    );
}

#[test]
fn references_to_what_the_node_does_not_hold_are_rejected() {
    let text = "id;title;programme;beneficiary;consortium;settlements;status;documents\n\
                d1;T;EFOP;o1;o1:lead;A;closed;jkv-1\n\
                d2;T;EFOP;o9;;A;closed;\n\
                d3;T;EFOP;o1;\"o1:lead; o-99:member\";A;closed;\n\
                d4;T;EFOP;o1;;A;closed;nincs\n";
    let parsed = check_references(csv("fejlesztesek.csv", text), &holds()).unwrap();
    assert_eq!(
        reasons(&parsed),
        vec![
            "fejlesztesek.csv:3: field \"beneficiary\": organisation \"o9\" is not in the register (import the organisations first)",
            "fejlesztesek.csv:4: field \"consortium\": organisation \"o-99\" is not in the register (import the organisations first)",
            "fejlesztesek.csv:5: field \"documents\": document \"nincs\" is not a document of this node (import the documents first)",
        ]
    );
    assert_eq!(parsed.records.len(), 1);

    let groups = "id;name;theme;members;meetings;status\n\
                  g1;X;víz;o1;2021-03-04 Ülés [jkv-1];active\n\
                  g2;X;víz;o3;;active\n\
                  g3;X;víz;o1;2021-03-04 Ülés [jkv-2];active\n";
    let parsed = check_references(csv("csoportok.csv", groups), &holds()).unwrap();
    assert_eq!(
        reasons(&parsed),
        vec![
            "csoportok.csv:3: field \"members\": organisation \"o3\" is not in the register (import the organisations first)",
            "csoportok.csv:4: field \"meetings\": minutes \"jkv-2\" is not a document of this node (import the documents first)",
        ]
    );
    let contacts = "organisation,name\no1,A\no7,B\n";
    let parsed = check_references(csv("k.csv", contacts), &holds()).unwrap();
    assert_eq!(
        reasons(&parsed),
        vec![
            "k.csv:3: field \"organisation\": organisation \"o7\" is not in the register (import the organisations first)"
        ]
    );
    let indicators = "development,indicator,name,type,unit,target\nEFOP-1,PR1,X,output,db,1\nEFOP-9,PR1,X,output,db,1\n";
    let parsed = check_references(csv("m.csv", indicators), &holds()).unwrap();
    assert_eq!(
        reasons(&parsed),
        vec![
            "m.csv:3: field \"development\": development \"EFOP-9\" is not in the register (import the developments first)"
        ]
    );
}

#[test]
fn a_workbook_sheet_of_developments() {
    use crate::import::table::fixtures::{C, XSheet, xlsx};
    use crate::import::table::workbook::{WorkbookFormat, read};
    let sheet = XSheet::new("Fejlesztések")
        .row(1, vec![C::S("Fejlesztések listája")])
        .row(
            3,
            vec![
                C::S("Azonosító"),
                C::S("Cím"),
                C::S("Program"),
                C::S("Kedvezményezett"),
                C::S("Települések"),
                C::S("Állapot"),
                C::S("Összköltség"),
                C::S("Támogatás"),
                C::S("Tervezett kezdés"),
            ],
        )
        .row(
            4,
            vec![
                C::S("TOP-1"),
                C::S("Kerékpárút"),
                C::S("TOP"),
                C::S("o1"),
                C::S("Tiszakécske"),
                C::S("folyamatban"),
                C::N(250_000_000.0),
                C::N(200_000_000.0),
                C::Date(43_466.0),
            ],
        )
        .row(
            5,
            vec![
                C::S("TOP-2"),
                C::S("Járda"),
                C::S("TOP"),
                C::S("o1"),
                C::S("Tiszakécske"),
                C::S("folyamatban"),
                C::N(100.0),
                C::N(200.0),
            ],
        );
    let bytes = xlsx(&[sheet]);
    let book = read(WorkbookFormat::Xlsx, &bytes, &Default::default()).unwrap();
    let parsed = parse_workbook("fejlesztesek.xlsx", &book, None, &Default::default()).unwrap();
    let crate::import::table::WorkbookParsed::Register(parsed) = parsed else {
        panic!("{parsed:?}")
    };
    assert_eq!(
        reasons(&parsed),
        vec![
            "fejlesztesek.xlsx:Fejlesztések!R5: field \"support\": 200 is more than the total cost 100"
        ]
    );
    let RegisterRecords::Developments(devs) = records(parsed) else {
        panic!()
    };
    assert_eq!(devs[0].total_cost, Some(250_000_000));
    assert_eq!(devs[0].planned_start.as_deref(), Some("2019-01-01"));
}

#[test]
fn an_empty_key_is_the_lines_fault_not_a_field() {
    // Found by the import_jsonl fuzz target: `{"": …}` and `{" ": …}`
    // were rejected naming the field `""` or `" "`.
    for key in ["", " "] {
        let line = format!(r#"{{"id":"o1","name":"N","legal_form":"civil","{key}":1}}"#);
        let parsed = parse_jsonl(
            "szervezetek.jsonl",
            line.as_bytes(),
            RegisterKind::Organisations,
        )
        .unwrap();
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].field, None, "{:?}", parsed.rejected[0]);
        assert!(
            parsed.rejected[0]
                .reason
                .contains(&format!("unknown field `{key}`")),
            "{:?}",
            parsed.rejected[0]
        );
    }
}
