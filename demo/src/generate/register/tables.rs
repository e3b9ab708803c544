//! The register's tables: sectors, counties, regional partners, names,
//! funding calls with their Hungarian titles and summaries, project
//! indicators and meeting topics. Editing any of them changes the register.

use super::*;

// Sectors, as indices into `SECTORS`, so that a typo does not compile.
pub(super) const OKT: usize = 0;
pub(super) const EGE: usize = 1;
pub(super) const SZOC: usize = 2;
pub(super) const FOGL: usize = 3;
pub(super) const GAZD: usize = 4;
pub(super) const KOZM: usize = 5;
pub(super) const SPORT: usize = 6;
pub(super) const IFJ: usize = 7;
pub(super) const TUR: usize = 8;
pub(super) const KORNY: usize = 10;
pub(super) const KOZIG: usize = 11;

/// A county: its code in TOP identifiers, its tax-number area code, and the
/// telephone area code of the kistérség's seat.
pub(super) type County = (&'static str, &'static str, u32);

/// The counties of the real kistérségek, in `places` order.
pub(super) const COUNTIES_REAL: [County; 14] = [
    ("BO", "05", 48),
    ("CS", "06", 62),
    ("NO", "12", 32),
    ("VA", "18", 94),
    ("BK", "03", 76),
    ("BO", "05", 47),
    ("NO", "12", 32),
    ("BE", "04", 68),
    ("SZ", "15", 44),
    ("BO", "05", 47),
    ("NO", "12", 32),
    ("BA", "02", 73),
    ("VE", "19", 88),
    ("JN", "16", 59),
];

/// Counties in turn for the invented kistérségek; Pest first, so that a
/// larger federation has VEKOP developments (none of the real ones is in
/// Pest county, where VEKOP replaced TOP).
pub(super) const COUNTIES_OTHER: [County; 8] = [
    ("PE", "13", 29),
    ("HB", "09", 54),
    ("HE", "10", 36),
    ("SO", "14", 82),
    ("TO", "17", 74),
    ("ZA", "20", 92),
    ("FE", "07", 25),
    ("GY", "08", 96),
];

/// A partner that serves the kistérségek of a group: positions
/// `g * width - offset ..` of the next `width`. Names hold `{R}`, the
/// group's label; the node's parity picks an id and a spelling, as two
/// data stewards would write them.
pub(super) struct Partner {
    pub(super) ids: [&'static str; 2],
    pub(super) names: [&'static str; 2],
    pub(super) width: usize,
    pub(super) offset: usize,
    pub(super) form: LegalForm,
    pub(super) sectors: &'static [usize],
    pub(super) positions: &'static [&'static str],
}

pub(super) const PARTNERS: [Partner; 4] = [
    Partner {
        ids: ["o-rfu", "o-rfu"],
        names: [
            "{R} Térségi Fejlesztési Ügynökség Nonprofit Kft.",
            "{R} Térségi Fejlesztési Ügynökség Nonprofit Korlátolt Felelősségű Társaság",
        ],
        width: 3,
        offset: 0,
        form: LegalForm::NonprofitCompany,
        sectors: &[GAZD, KOZIG],
        positions: &["ügyvezető", "projektmenedzser"],
    },
    Partner {
        ids: ["o-leader", "o-leader-hacs"],
        names: [
            "{R} LEADER Egyesület",
            "{R} Leader Helyi Akciócsoport Egyesület",
        ],
        width: 2,
        offset: 0,
        form: LegalForm::Civil,
        sectors: &[GAZD, TUR],
        positions: &["munkaszervezet-vezető"],
    },
    Partner {
        ids: ["o-karitasz", "o-egyhazmegyei-karitasz"],
        names: ["{R} Egyházmegyei Karitász", "Egyházmegyei Karitász – {R}"],
        width: 4,
        offset: 1,
        form: LegalForm::Church,
        sectors: &[SZOC],
        positions: &["karitászigazgató"],
    },
    Partner {
        ids: ["o-paktum", "o-paktum"],
        names: [
            "{R} Foglalkoztatási Paktum Nonprofit Kft.",
            "{R} Foglalkoztatási Paktum Nonprofit Kft",
        ],
        width: 3,
        offset: 1,
        form: LegalForm::NonprofitCompany,
        sectors: &[FOGL],
        positions: &["paktumkoordinátor"],
    },
];

/// The groups' labels, landscapes of the invented demo region.
pub(super) const REGION_LABELS: [&str; 8] = [
    "Tisza–Bodrog",
    "Zagyva–Ipoly",
    "Körös–Maros",
    "Rába–Őrség",
    "Dráva–Ormánság",
    "Bakony–Séd",
    "Szamos–Kraszna",
    "Hernád–Sajó",
];

pub(super) const FAMILY_NAMES: [&str; 20] = [
    "Nagy",
    "Kovács",
    "Tóth",
    "Szabó",
    "Horváth",
    "Varga",
    "Kiss",
    "Molnár",
    "Németh",
    "Farkas",
    "Balogh",
    "Papp",
    "Takács",
    "Juhász",
    "Lakatos",
    "Mészáros",
    "Oláh",
    "Simon",
    "Rácz",
    "Fekete",
];

pub(super) const GIVEN_NAMES: [&str; 22] = [
    "László",
    "István",
    "József",
    "János",
    "Zoltán",
    "Sándor",
    "Gábor",
    "Ferenc",
    "Attila",
    "Péter",
    "Tamás",
    "Mária",
    "Erzsébet",
    "Katalin",
    "Éva",
    "Ilona",
    "Anikó",
    "Zsuzsanna",
    "Andrea",
    "Krisztina",
    "Edit",
    "Judit",
];

/// Who leads a development.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lead {
    /// The association, for the whole kistérség.
    Association,
    /// The seat's municipality, for the whole kistérség.
    Seat,
    /// A settlement's municipality, for that settlement (at least this
    /// many inhabitants).
    Village(u32),
    SocialCooperative,
    /// A local civil organisation, for its settlement.
    Civil,
    /// A LEADER project: a civil body, the church or a municipality.
    Leader,
}

/// How the identifier is built from the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `EFOP-1.5.2-16-2017-00041`.
    National,
    /// `TOP-1.4.1-15-BK1-2016-00012`.
    County,
    /// `VP6-19.2.1-37-2-17-00008`: the LEADER group's number and sub-call.
    Leader,
    /// `MFP-ÖTIF-2020-00123` of the call `MFP-ÖTIF/2020`.
    Domestic,
}

/// A funding call and how its developments look.
pub(super) struct Call {
    pub(super) code: &'static str,
    pub(super) programme: Programme,
    pub(super) shape: Shape,
    /// The year in the identifier (when applications were registered).
    pub(super) year: i32,
    /// The first and last planned start, as [`ym`] months.
    pub(super) start: (i64, i64),
    /// Planned duration in months.
    pub(super) months: (i64, i64),
    /// Total cost in million Ft.
    pub(super) cost: (i64, i64),
    /// Support intensity in percent.
    pub(super) intensity: (i64, i64),
    pub(super) lead: Lead,
    pub(super) sectors: &'static [usize],
    pub(super) targets: &'static [TargetGroup],
    /// Slots: `{KB}` in the kistérség (with article), `{KN}` the kistérség
    /// (with article), `{KA}` its adjective, `{S}` the settlement, `{SA}` its
    /// adjective, `{L}` the beneficiary, `{N}` the number of settlements.
    pub(super) titles: &'static [&'static str],
    pub(super) summary: &'static str,
    /// Into [`INDICATORS`]; the first always, others sometimes.
    pub(super) indicators: &'static [usize],
}

use tudashalo_core::register::TargetGroup as T;

pub(super) const KINDERGARTEN_SUMMARY: &str = "A fejlesztés a kisgyermekes szülők munkába állását segíti: {S} óvodájában új csoportszoba, tornaszoba és akadálymentes mosdó épül, az épület energetikai korszerűsítése után pedig a játszóudvar is megújul. A beruházás után több gyermek kaphat helyben óvodai ellátást.";

pub(super) const CALLS: [Call; 16] = [
    Call {
        code: "EFOP-1.5.2-16",
        programme: Programme::Efop,
        shape: Shape::National,
        year: 2017,
        start: (ym(2017, 3), ym(2018, 1)),
        months: (36, 48),
        cost: (300, 600),
        intensity: (100, 100),
        lead: Lead::Association,
        sectors: &[SZOC, EGE, OKT],
        targets: &[T::Families, T::Children, T::DisadvantagedWorkingAge],
        titles: &[
            "Humán szolgáltatások fejlesztése {KB}",
            "Esélyteremtő humán szolgáltatások fejlesztése {KB}",
        ],
        summary: "A projekt {KN} {N} településén fejleszti a humán szolgáltatásokat: bővíti a család- és gyermekjóléti szolgáltatást, szakembereket vonz a térségbe, és egészségfejlesztési, prevenciós programokat szervez. A konzorciumot {L} vezeti, tagjai a települési önkormányzatok és a térség szociális intézményei.",
        indicators: &[0, 1],
    },
    Call {
        code: "EFOP-3.9.2-16",
        programme: Programme::Efop,
        shape: Shape::National,
        year: 2017,
        start: (ym(2017, 6), ym(2018, 3)),
        months: (36, 48),
        cost: (200, 500),
        intensity: (100, 100),
        lead: Lead::Association,
        sectors: &[OKT, IFJ, KOZM],
        targets: &[T::Pupils, T::YoungPeople, T::RomaPupils],
        titles: &["Humán kapacitások fejlesztése {KB}"],
        summary: "A projekt célja, hogy {KB} élő gyermekek és fiatalok helyben jussanak minőségi köznevelési, közművelődési és ifjúsági szolgáltatásokhoz. Ösztöndíjprogrammal segíti a pedagógusok és más szakemberek letelepedését, tehetséggondozó és felzárkóztató foglalkozásokat szervez.",
        indicators: &[0, 1],
    },
    Call {
        code: "EFOP-1.3.5-16",
        programme: Programme::Efop,
        shape: Shape::National,
        year: 2017,
        start: (ym(2017, 9), ym(2018, 6)),
        months: (24, 36),
        cost: (20, 60),
        intensity: (100, 100),
        lead: Lead::Civil,
        sectors: &[KOZM, IFJ],
        targets: &[T::WholePopulation, T::YoungPeople],
        titles: &["Közösségfejlesztés és társadalmi szerepvállalás erősítése {S} településen"],
        summary: "{L} a helyi közösség aktivizálására közösségi programokat, önkéntes akciókat és családi rendezvényeket szervez, és közösségi koordinátort foglalkoztat. A projekt erősíti a civil szervezetek és az önkormányzat együttműködését.",
        indicators: &[3, 0],
    },
    Call {
        code: "TOP-1.4.1-15",
        programme: Programme::Top,
        shape: Shape::County,
        year: 2016,
        start: (ym(2016, 6), ym(2017, 3)),
        months: (12, 24),
        cost: (40, 300),
        intensity: (100, 100),
        lead: Lead::Village(700),
        sectors: &[OKT, FOGL],
        targets: &[T::Children, T::Families],
        titles: &[
            "{SA} Napközi Otthonos Óvoda bővítése és energetikai korszerűsítése",
            "Óvodai férőhelyek bővítése {S} településen",
        ],
        summary: KINDERGARTEN_SUMMARY,
        indicators: &[2],
    },
    Call {
        code: "TOP-1.4.1-16",
        programme: Programme::Top,
        shape: Shape::County,
        year: 2017,
        start: (ym(2017, 6), ym(2018, 3)),
        months: (12, 24),
        cost: (40, 250),
        intensity: (100, 100),
        lead: Lead::Village(700),
        sectors: &[OKT, FOGL],
        targets: &[T::Children, T::Families],
        titles: &[
            "Bölcsődei ellátás kialakítása {S} településen",
            "Óvodafejlesztés {S} településen",
        ],
        summary: "A fejlesztés a kisgyermekes családok helyben maradását és a szülők munkába állását segíti: {S} településen korszerű, akadálymentes bölcsődei és óvodai csoportszobák jönnek létre, új eszközökkel és megújult udvarral.",
        indicators: &[2, 0],
    },
    Call {
        code: "TOP-5.3.1-16",
        programme: Programme::Top,
        shape: Shape::County,
        year: 2017,
        start: (ym(2018, 1), ym(2018, 10)),
        months: (24, 36),
        cost: (20, 60),
        intensity: (100, 100),
        lead: Lead::Civil,
        sectors: &[KOZM, IFJ],
        targets: &[T::WholePopulation],
        titles: &[
            "Helyi identitás és kohézió erősítése {S} településen",
            "Közösségi programok a helyi identitás erősítéséért {S} településen",
        ],
        summary: "A projekt a helyi identitás és a közösségi összetartozás erősítésére rendezvényeket, helytörténeti programokat és önkéntes akciókat valósít meg. A programokat {L} a település önkormányzatával közösen szervezi.",
        indicators: &[3, 0],
    },
    Call {
        code: "TOP-5.1.2-15",
        programme: Programme::Top,
        shape: Shape::County,
        year: 2016,
        start: (ym(2016, 9), ym(2017, 6)),
        months: (48, 60),
        cost: (150, 500),
        intensity: (100, 100),
        lead: Lead::Seat,
        sectors: &[FOGL, GAZD],
        targets: &[T::Unemployed, T::DisadvantagedWorkingAge],
        titles: &[
            "Helyi foglalkoztatási együttműködés {KB}",
            "Foglalkoztatási paktum {KB}",
        ],
        summary: "A helyi foglalkoztatási paktum összehangolja az önkormányzatok, a járási hivatal, a vállalkozások és a civil szervezetek munkáját {KB}. A projekt képzésekkel, bértámogatással és mentorálással segíti a hátrányos helyzetű álláskeresők elhelyezkedését.",
        indicators: &[0, 4],
    },
    Call {
        code: "TOP-4.2.1-15",
        programme: Programme::Top,
        shape: Shape::County,
        year: 2016,
        start: (ym(2017, 1), ym(2017, 12)),
        months: (12, 24),
        cost: (30, 150),
        intensity: (100, 100),
        lead: Lead::Village(500),
        sectors: &[SZOC],
        targets: &[T::Elderly, T::Disabled],
        titles: &[
            "Idősek nappali ellátásának fejlesztése {S} településen",
            "Szociális alapszolgáltatások infrastruktúrájának fejlesztése {S} településen",
        ],
        summary: "A beruházás korszerűsíti a szociális alapszolgáltatások épületét {S} településen: akadálymentesíti és energetikailag felújítja, új eszközökkel látja el az idősek nappali ellátását és a szociális étkeztetést. A fejlesztés után több idős és fogyatékossággal élő ember kaphat helyben ellátást.",
        indicators: &[1, 6],
    },
    Call {
        code: "TOP-4.1.1-15",
        programme: Programme::Top,
        shape: Shape::County,
        year: 2016,
        start: (ym(2017, 1), ym(2017, 12)),
        months: (12, 24),
        cost: (30, 120),
        intensity: (100, 100),
        lead: Lead::Village(500),
        sectors: &[EGE],
        targets: &[T::WholePopulation],
        titles: &[
            "Egészségház felújítása és akadálymentesítése {S} településen",
            "Háziorvosi és védőnői rendelő korszerűsítése {S} településen",
        ],
        summary: "A fejlesztés megújítja az egészségügyi alapellátás épületét: a háziorvosi rendelő és a védőnői tanácsadó akadálymentes, korszerű helyiségeket és új orvosi eszközöket kap. A beruházás javítja {S} és a környező települések lakóinak egészségügyi ellátását.",
        indicators: &[6, 1],
    },
    Call {
        code: "KÖFOP-1.2.1-VEKOP-16",
        programme: Programme::Kofop,
        shape: Shape::National,
        year: 2017,
        start: (ym(2017, 4), ym(2017, 12)),
        months: (12, 24),
        cost: (20, 40),
        intensity: (100, 100),
        lead: Lead::Seat,
        sectors: &[KOZIG],
        targets: &[T::WholePopulation],
        titles: &["Csatlakozás az önkormányzati ASP központhoz – {KA} kistérségi konzorcium"],
        summary: "A konzorcium önkormányzatai csatlakoznak az önkormányzati ASP központhoz: egységes gazdálkodási, iratkezelési és adóügyi szakrendszereket vezetnek be, eszközöket szereznek be, és képzik a hivatalok munkatársait.",
        indicators: &[1],
    },
    Call {
        code: "GINOP-5.1.7-17",
        programme: Programme::Ginop,
        shape: Shape::National,
        year: 2018,
        start: (ym(2018, 9), ym(2019, 6)),
        months: (24, 36),
        cost: (50, 150),
        intensity: (95, 100),
        lead: Lead::SocialCooperative,
        sectors: &[FOGL, GAZD],
        targets: &[T::DisadvantagedWorkingAge, T::Unemployed],
        titles: &[
            "Társadalmi célú vállalkozás fejlesztése {S} településen",
            "{L} piacra lépésének támogatása",
        ],
        summary: "{L} a projektből új termékeket és szolgáltatásokat vezet be, eszközöket szerez be, és tartósan munkát ad hátrányos helyzetű helyi lakosoknak. A program képzéssel és mentorálással segíti a munkavállalók beilleszkedését.",
        indicators: &[5, 0],
    },
    Call {
        code: "VP6-19.2.1",
        programme: Programme::Vp,
        shape: Shape::Leader,
        year: 2017,
        start: (ym(2019, 1), ym(2019, 12)),
        months: (12, 24),
        cost: (20, 40),
        intensity: (70, 95),
        lead: Lead::Leader,
        sectors: &[TUR, KOZM, GAZD],
        targets: &[T::WholePopulation, T::Entrepreneurs],
        titles: &[
            "Közösségi tér és helyi termékpiac kialakítása {S} településen",
            "Helyi értékek bemutatása és rendezvénysorozat {S} településen",
            "Tematikus turisztikai útvonal kialakítása {S} településen",
        ],
        summary: "A LEADER-forrásból megvalósuló fejlesztés a helyi értékekre épít: {L} közösségi teret alakít ki, bemutatja a helyi termelőket és kézműveseket, és rendezvényeket szervez. A projekt a helyi akciócsoport fejlesztési stratégiájához illeszkedik.",
        indicators: &[3, 1],
    },
    Call {
        code: "VEKOP-6.1.1-15",
        programme: Programme::Vekop,
        shape: Shape::National,
        year: 2016,
        start: (ym(2016, 6), ym(2017, 3)),
        months: (12, 24),
        cost: (40, 250),
        intensity: (80, 100),
        lead: Lead::Village(700),
        sectors: &[OKT, FOGL],
        targets: &[T::Children, T::Families],
        titles: &["Óvodafejlesztés {S} településen"],
        summary: KINDERGARTEN_SUMMARY,
        indicators: &[2],
    },
    Call {
        code: "TOP_PLUSZ-1.2.1-21",
        programme: Programme::TopPlusz,
        shape: Shape::County,
        year: 2022,
        start: (ym(2022, 9), ym(2024, 12)),
        months: (24, 36),
        cost: (100, 800),
        intensity: (100, 100),
        lead: Lead::Village(700),
        sectors: &[OKT, KORNY],
        targets: &[T::Children, T::Families],
        titles: &[
            "Óvoda és bölcsőde fejlesztése {S} településen",
            "Élhető település: közösségi terek és zöldfelületek megújítása {S} településen",
        ],
        summary: "A TOP Plusz forrásából megújul {S} óvodája és bölcsődéje: energetikai korszerűsítés, új csoportszobák és megújuló játszóudvar szolgálja a kisgyermekes családokat. A fejlesztés a település népességmegtartó erejét növeli.",
        indicators: &[2, 1],
    },
    Call {
        code: "MFP-ÖTIF/2020",
        programme: Programme::Domestic,
        shape: Shape::Domestic,
        year: 2020,
        start: (ym(2020, 3), ym(2021, 6)),
        months: (9, 15),
        cost: (20, 50),
        intensity: (100, 100),
        lead: Lead::Village(0),
        sectors: &[KOZIG, KOZM],
        targets: &[T::WholePopulation],
        titles: &[
            "Önkormányzati épület felújítása {S} településen a Magyar Falu Program támogatásával",
        ],
        summary: "A Magyar Falu Program támogatásával megújul {S} önkormányzati épülete: a tető, a nyílászárók és a fűtés korszerűsítése után a hivatal és a közösségi programok is jobb körülmények között működhetnek.",
        indicators: &[1],
    },
    Call {
        code: "MFP-OJKJF/2020",
        programme: Programme::Domestic,
        shape: Shape::Domestic,
        year: 2020,
        start: (ym(2020, 6), ym(2021, 9)),
        months: (6, 12),
        cost: (20, 35),
        intensity: (100, 100),
        lead: Lead::Village(300),
        sectors: &[OKT, SPORT],
        targets: &[T::Children, T::Families],
        titles: &["Óvodai játszóudvar és közterületi játszótér fejlesztése {S} településen"],
        summary: "A hazai forrásból {S} óvodájának udvarán és a település játszóterén új, szabványos játszóeszközök, árnyékolók és biztonságos ütéscsillapító burkolat készül.",
        indicators: &[1],
    },
];

/// Calls every node has, by index into [`CALLS`]; the rest are drawn from
/// [`EXTRA_CALLS`]. The domestic one (14) is the node's local record.
pub(super) const CORE_CALLS: [usize; 7] = [0, 3, 5, 6, 11, 13, 14];

pub(super) const EXTRA_CALLS: [usize; 11] = [1, 2, 4, 7, 8, 9, 10, 13, 15, 3, 5];

pub(super) const LOCAL_CALL: usize = 14;

/// Project indicators: code, name, unit, type. Codes are shared across
/// developments, so that achievement aggregates over them.
pub(super) const INDICATORS: [(&str, &str, &str, IndicatorType); 7] = [
    (
        "PR_RESZTVEVO",
        "Programokba bevont résztvevők száma",
        "fő",
        IndicatorType::Output,
    ),
    (
        "PR_SZOLGALTATAS",
        "Új vagy fejlesztett szolgáltatások száma",
        "db",
        IndicatorType::Output,
    ),
    (
        "PR_OVODAI_FEROHELY",
        "Fejlesztett óvodai férőhelyek",
        "férőhely",
        IndicatorType::Output,
    ),
    (
        "PR_KOZOSSEGI_PROGRAM",
        "Megvalósított közösségi programok száma",
        "db",
        IndicatorType::Output,
    ),
    (
        "PR_ELHELYEZKEDETT",
        "A programot követően elhelyezkedett résztvevők száma",
        "fő",
        IndicatorType::Result,
    ),
    (
        "PR_MUNKAHELY",
        "Létrehozott új munkahelyek száma",
        "fő",
        IndicatorType::Result,
    ),
    (
        "PR_ELLATOTT",
        "Fejlesztett szolgáltatással ellátott lakosok száma",
        "fő",
        IndicatorType::Result,
    ),
];

/// Topics any working group discusses.
pub(super) const MEETING_TOPICS: [&str; 6] = [
    "Az éves munkaterv elfogadása",
    "Beszámoló az előző év tevékenységéről",
    "A pályázati lehetőségek áttekintése",
    "A kistérségi fejlesztési program felülvizsgálata",
    "A konzorciumi projektek előrehaladása",
    "Együttműködés a járási hivatallal",
];
