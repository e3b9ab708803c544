//! What the documents say: sectors, development topics with their inflected
//! forms, sentence templates and titles.
//!
//! Tables indexed by sector follow [`SECTORS`] order, tables indexed by
//! kind follow `Kind::ALL` order; their lengths are fixed by their types
//! so that a missing row does not compile. Templates hold `{slots}` that the
//! document writer fills (see `Writer::slot` in `documents`), separate words
//! by single spaces (word counting relies on it) and are written for this
//! generator. Editing any table changes the corpus.

use std::sync::LazyLock;

use super::grammar::article;

/// Every sector a generated document may carry.
pub const SECTORS: [&str; 12] = [
    "oktatás",
    "egészségügy",
    "szociális",
    "foglalkoztatás",
    "gazdaságfejlesztés",
    "közművelődés",
    "sport",
    "ifjúság",
    "turizmus",
    "közlekedés",
    "környezet",
    "közigazgatás",
];

/// Adjectives of the sectors, in [`SECTORS`] order, for titles.
pub(super) const SECTOR_ADJECTIVES: [&str; 12] = [
    "köznevelési",
    "egészségügyi",
    "szociális",
    "foglalkoztatási",
    "gazdaságfejlesztési",
    "közművelődési",
    "sportfejlesztési",
    "ifjúsági",
    "turisztikai",
    "közlekedésfejlesztési",
    "környezetvédelmi",
    "közigazgatási",
];

/// Development topics per sector: a noun phrase that ends in a possessive
/// `-a`/`-e` (so that its accusative and sublative follow by rule), and a tag.
const TOPIC_TABLE: [(usize, &str, &str); 60] = [
    (0, "óvodai férőhelyek bővítése", "óvoda"),
    (0, "iskolabusz-hálózat szervezése", "iskolabusz"),
    (0, "általános iskola energetikai korszerűsítése", "iskola"),
    (0, "tanoda program folytatása", "tanoda"),
    (0, "bölcsődei ellátás kialakítása", "bölcsőde"),
    (1, "háziorvosi körzetek betöltése", "háziorvos"),
    (1, "védőnői szolgálat megerősítése", "védőnő"),
    (1, "járóbeteg-szakellátás fejlesztése", "szakellátás"),
    (1, "egészségház felújítása", "egészségház"),
    (1, "szűrőprogramok szervezése", "szűrés"),
    (2, "falugondnoki szolgálat bővítése", "falugondnok"),
    (2, "idősek nappali ellátásának fejlesztése", "idősellátás"),
    (2, "szociális étkeztetés megszervezése", "étkeztetés"),
    (
        2,
        "hátrányos helyzetű családok támogatása",
        "hátrányos helyzet",
    ),
    (2, "szegregátumok felszámolása", "szegregáció"),
    (
        3,
        "közfoglalkoztatási programok szervezése",
        "közfoglalkoztatás",
    ),
    (
        3,
        "szociális szövetkezet létrehozása",
        "szociális szövetkezet",
    ),
    (3, "tartós álláskeresők képzése", "képzés"),
    (3, "helyi foglalkoztatási paktum működtetése", "paktum"),
    (
        3,
        "munkaerőpiaci szolgáltatások fejlesztése",
        "munkaerőpiac",
    ),
    (4, "helyi termékek piacának kialakítása", "helyi termék"),
    (4, "ipari terület közművesítése", "ipari park"),
    (4, "kisvállalkozások támogatása", "vállalkozás"),
    (4, "gyümölcsfeldolgozó üzem létesítése", "feldolgozóüzem"),
    (4, "inkubátorház kialakítása", "inkubátorház"),
    (
        5,
        "integrált közösségi szolgáltató tér kialakítása",
        "IKSZT",
    ),
    (5, "IKSZT működtetése", "IKSZT"),
    (5, "művelődési ház felújítása", "művelődési ház"),
    (5, "községi könyvtár fejlesztése", "könyvtár"),
    (5, "helyi hagyományok ápolása", "hagyományőrzés"),
    (6, "sportpálya felújítása", "sportpálya"),
    (6, "tornaterem építése", "tornaterem"),
    (6, "szabadidős sportprogramok szervezése", "szabadidősport"),
    (6, "tanuszoda létesítése", "tanuszoda"),
    (6, "szabadtéri kondipark kialakítása", "kondipark"),
    (7, "ifjúsági klub működtetése", "ifjúsági klub"),
    (
        7,
        "fiatalok helyben maradásának ösztönzése",
        "helyben maradás",
    ),
    (7, "ifjúsági információs pont létrehozása", "ifjúsági iroda"),
    (7, "nyári táborok szervezése", "tábor"),
    (7, "pályaorientációs programok bővítése", "pályaválasztás"),
    (8, "kerékpáros turizmus fejlesztése", "kerékpáros turizmus"),
    (8, "tanösvény kialakítása", "tanösvény"),
    (8, "falusi szálláshelyek minősítése", "szálláshely"),
    (8, "borút hálózat kiépítése", "borút"),
    (
        8,
        "térségi turisztikai kártya bevezetése",
        "turisztikai kártya",
    ),
    (9, "kerékpárút építése", "kerékpárút"),
    (9, "bekötőutak felújítása", "bekötőút"),
    (9, "buszmegállók akadálymentesítése", "akadálymentesítés"),
    (
        9,
        "közösségi közlekedés összehangolása",
        "közösségi közlekedés",
    ),
    (9, "települések közötti járatok sűrítése", "menetrend"),
    (10, "víziközmű-hálózat rekonstrukciója", "víziközmű"),
    (10, "szennyvíztisztító telep bővítése", "szennyvíz"),
    (10, "illegális hulladéklerakók felszámolása", "hulladék"),
    (10, "közintézmények napelemes ellátása", "napelem"),
    (10, "csapadékvíz-elvezetés korszerűsítése", "csapadékvíz"),
    (
        11,
        "önkormányzatok együttműködésének erősítése",
        "együttműködés",
    ),
    (
        11,
        "közös önkormányzati hivatal átszervezése",
        "közös hivatal",
    ),
    (
        11,
        "többcélú társulás feladatainak felülvizsgálata",
        "társulás",
    ),
    (
        11,
        "e-közigazgatási szolgáltatások bevezetése",
        "e-közigazgatás",
    ),
    (
        11,
        "településrendezési tervek összehangolása",
        "településrendezés",
    ),
];

/// A topic with its forms, article included: `az óvodai férőhelyek
/// bővítése`, `… bővítését`, `… bővítésére`.
#[derive(Debug)]
pub(super) struct Topic {
    pub(super) sector: usize,
    pub(super) bare: &'static str,
    pub(super) nominative: String,
    pub(super) accusative: String,
    pub(super) sublative: String,
    pub(super) tag: &'static str,
}

pub(super) static TOPICS: LazyLock<Vec<Topic>> = LazyLock::new(|| {
    TOPIC_TABLE
        .iter()
        .map(|&(sector, bare, tag)| {
            let article = article(bare);
            // The possessive ending lengthens before a suffix: -e → -é, -a → -á.
            let (stem, sublative) = match bare.strip_suffix('e') {
                Some(stem) => (format!("{stem}é"), "re"),
                None => (format!("{}á", bare.strip_suffix('a').unwrap_or(bare)), "ra"),
            };
            Topic {
                sector,
                bare,
                nominative: format!("{article} {bare}"),
                accusative: format!("{article} {stem}t"),
                sublative: format!("{article} {stem}{sublative}"),
                tag,
            }
        })
        .collect()
});

/// The topics of one sector, as indices into [`TOPICS`].
pub(super) fn topics_of(sector: usize) -> impl Iterator<Item = usize> {
    TOPIC_TABLE
        .iter()
        .enumerate()
        .filter(move |(_, t)| t.0 == sector)
        .map(|(i, _)| i)
}

/// Sentences about any development work. Slots: see `Writer::slot` in `documents`.
pub(super) const GENERAL: &[&str] = &[
    "{K} települései közül {S} lakossága csökkent a legnagyobb mértékben az elmúlt évtizedben.",
    "A fejlesztési elképzelések összhangban vannak a megyei területfejlesztési koncepcióval és a járási esélyteremtő programmal.",
    "Az önkormányzatok együttműködése nélkül a kisebb települések nem tudnák önállóan ellátni kötelező feladataikat.",
    "A lakossági fórumon az óvodai férőhelyek, a közvilágítás és a buszmegállók állapota került előtérbe.",
    "{YB} a társulási tanács {N} alkalommal ülésezett, és {NB} határozatot hozott.",
    "A projekt teljes költsége {NF}, amelyből a vissza nem térítendő támogatás aránya {P}.",
    "A fejlesztések eredményeként {S} településen {NB} lakos jut jobb minőségű szolgáltatáshoz.",
    "A kistérségi fejlesztési programok végrehajtását a társulás munkaszervezete koordinálja.",
    "A hátrányos helyzetű települések felzárkóztatása továbbra is elsődleges cél.",
    "A megvalósítás ütemezése: előkészítés {Y}, kivitelezés {YN}, utána ötéves fenntartási időszak.",
    "{S} és {S2} polgármesterei megállapodtak az intézmények közös fenntartásáról.",
    "A helyzetelemzés szerint a népesség elöregedése és a fiatalok elvándorlása a legsúlyosabb probléma.",
    "A munkaszervezet {N} település adatait dolgozta fel; a kistérségi átlagtól {S} mutatói térnek el leginkább.",
    "Az együttműködő önkormányzatok vállalták, hogy a fenntartási költségeket lakosságarányosan viselik.",
    "A fejlesztési források felhasználásáról a társulás negyedévente beszámol a képviselő-testületeknek.",
    "A tanyás térségekben élők számára a közszolgáltatások továbbra is nehezen hozzáférhetők.",
    "A civil szervezetek és az egyházak bevonása erősíti a helyi közösségeket.",
    "A rendelkezésre álló adatok alapján a foglalkoztatási ráta elmarad az országos átlagtól.",
    "A program fenntarthatóságát a települési önkormányzatok saját forrásaikból is biztosítják.",
    "A kedvezményezett települések listáját a kormányrendelet melléklete tartalmazza.",
    "A beruházás gesztora: {O}.",
    "{K} lakónépessége {Y}. január 1-jén {NP} fő volt.",
    "A fiatal családok letelepedését lakhatási támogatással és bővülő óvodai férőhelyekkel segítik.",
    "A fejlesztési igények felmérése során {NB} kérdőív érkezett vissza a lakosságtól.",
    "Kiemelt feladat az önkormányzati intézmények energiahatékonyságának javítása.",
    "A települések közötti együttműködés a közös pályázatírásban és a közbeszerzések lebonyolításában is megjelenik.",
    "A következő tervezési időszakban a fejlesztési források összehangolt felhasználása szükséges.",
    "{S} településen a kisiskola megtartása a közösség fennmaradásának feltétele.",
    "A monitoring mutatók alakulását évente felül kell vizsgálni.",
    "A fejlesztések megalapozásához {K} valamennyi önkormányzatától adatot kértünk.",
    "A kistelepülési önkormányzatok pályázati önerejét a társulás előfinanszírozással segíti.",
    "A {Y}. évi költségvetés {NF} fejlesztési célú előirányzatot tartalmaz.",
];

/// Sentences about the document's topic.
pub(super) const ABOUT_TOPIC: &[&str] = &[
    "{T} {S} településen {YB} kezdődött meg.",
    "A társulás {TR} {NF} összegű támogatást nyert el.",
    "{TA} a helyi önkormányzatok kezdeményezték.",
    "{T} érdekében a társulás munkacsoportot hozott létre.",
    "Az értékelés szerint {T} hozzájárult a szolgáltatások minőségének javulásához.",
    "{T} a kistérségi fejlesztési program egyik kiemelt beavatkozási területe.",
    "A pályázati felhívás lehetővé teszi {TA} a kisebb lélekszámú településeken is.",
    "{TA} {N} település közösen tervezi.",
    "A képviselő-testület egyhangúlag támogatta {TA}.",
    "{T} során {NB} fő vett részt a lakossági egyeztetéseken.",
    "{TR} {S2} önkormányzata is csatlakozási szándékát jelezte.",
    "A fenntartási időszakban {T} üzemeltetését {O} vállalja.",
];

/// Sentences per sector, in [`SECTORS`] order.
pub(super) const BY_SECTOR: [&[&str]; 12] = [
    &[
        "{S} településen az óvoda {H} férőhellyel működik, a kihasználtság {P}.",
        "Az óvodai férőhelyek száma a kistérségben {Y} óta {N}%-kal nőtt.",
        "Az iskolabusz naponta {N} településről szállítja a gyerekeket a körzeti iskolába.",
        "A kisiskolák fenntartása a tanulói létszám csökkenése miatt egyre nehezebb.",
        "A tanoda programban {NB} hátrányos helyzetű diák vesz részt.",
        "Óvodai fejlesztő pedagógus alkalmazását {N} önkormányzat közösen finanszírozza.",
        "Az óvodai férőhelyek bővítése után a várólista megszűnt.",
    ],
    &[
        "A háziorvosi praxisok közül {N} tartósan betöltetlen, helyettesítéssel működik.",
        "A védőnői körzetekben {NB} gyermek és várandós anya gondozása folyik.",
        "A legközelebbi járóbeteg-szakellátó intézmény {S} településről {KM} kilométerre van.",
        "Az egészségfejlesztési iroda szűrőnapjain {NB} fő vett részt.",
        "Az ügyeleti ellátás a kistérség összes településére kiterjed.",
        "A betegszállítás megszervezése a kistelepüléseken különösen nehéz.",
    ],
    &[
        "A falugondnoki szolgálat {N} kistelepülésen biztosítja az idősek bevásárlását és a betegszállítást.",
        "A szociális étkeztetést {NB} fő veszi igénybe, többségük egyedül élő idős ember.",
        "A házi segítségnyújtás iránti igény évről évre nő.",
        "A gyermekjóléti szolgálat esetszáma {YB} {P}-kal nőtt.",
        "A szegregált lakókörnyezetben élők aránya {S} településen a legmagasabb.",
        "A szociális szolgáltatásokat a társulás intézménye egységes szakmai irányítással nyújtja.",
    ],
    &[
        "A nyilvántartott álláskeresők száma {YB} {NB} fő volt a kistérségben.",
        "A közfoglalkoztatási programokban részt vevők aránya a kistelepüléseken meghaladja a {P}-ot.",
        "A foglalkoztatási paktum partnerei vállalták, hogy {NB} álláskeresőt vonnak be képzésbe.",
        "A szociális szövetkezet savanyítóüzemében {N} fő talált tartós munkát.",
        "A tartós munkanélküliség különösen a fiatalok és az alacsony iskolai végzettségűek körében jelentős.",
        "A foglalkoztatási programok eredményessége a helyi vállalkozások bevonásán múlik.",
    ],
    &[
        "A helyi termelők piaca minden szombaton {S} főterén várja a vásárlókat.",
        "Az ipari terület közművesítése után {N} vállalkozás jelezte betelepülési szándékát.",
        "A működő mikrovállalkozások száma {Y} óta lassan növekszik.",
        "A helyi akciócsoport {NF} keretösszeggel támogatja a gazdaságfejlesztési kezdeményezéseket.",
        "A gyümölcsfeldolgozó üzem a térségben termelt alapanyagra épül.",
        "A gazdaságfejlesztési programok a helyi termékek piacra jutását segítik.",
    ],
    &[
        "Az integrált közösségi szolgáltató tér (IKSZT) {S} településen a könyvtár, a teleház és a közösségi ház feladatait egy épületben látja el.",
        "Az IKSZT-ben {YB} {NB} rendezvényt tartottak.",
        "A művelődési ház nyitvatartását a helyi igényekhez igazították.",
        "A könyvtárellátási szolgáltató rendszer {N} kistelepülésen biztosítja a dokumentumellátást.",
        "A falunapok és a hagyományőrző együttesek fellépései erősítik a közösségi összetartozást.",
        "Az integrált közösségi szolgáltató terek a kistelepülések közösségi életének központjai.",
    ],
    &[
        "A felújított sportpályát az iskola és a helyi sportegyesület közösen használja.",
        "A tornaterem hiánya miatt a testnevelésórákat {S} településen a művelődési házban tartják.",
        "A szabadidős sportprogramokon {YB} {NB} fő vett részt.",
        "A kistérségi diákolimpián {N} iskola csapatai mérték össze tudásukat.",
        "A sportlétesítmények fenntartása a kisebb önkormányzatok számára komoly terhet jelent.",
    ],
    &[
        "Az ifjúsági klub hetente {N} alkalommal tart nyitva.",
        "A fiatalok elvándorlása miatt a tizennyolc és harminc év közötti korosztály aránya {P}-ra csökkent.",
        "Az ifjúsági információs pont pályaválasztási tanácsadással segíti a végzős diákokat.",
        "A nyári táborokban {NB} gyermek vett részt.",
        "Az ifjúsági önkormányzatok bevonása növeli a programok iránti érdeklődést.",
    ],
    &[
        "A kerékpáros turizmus fejlesztése a folyó menti települések közös érdeke.",
        "A falusi szálláshelyeken {YB} {NB} vendégéjszakát regisztráltak.",
        "A tanösvény {KM} kilométer hosszan vezet a védett területen.",
        "A turisztikai kínálatot a helyi termékek és a gasztronómiai rendezvények egészítik ki.",
        "A turisztikai fejlesztések a szezon meghosszabbítását célozzák.",
    ],
    &[
        "A kerékpárút {KM} kilométer hosszan köti össze {S} és {S2} településeket.",
        "A bekötőutak állapota miatt a mentő kiérkezési ideje {S} településen a leghosszabb.",
        "A helyközi autóbuszjáratok menetrendjét a munkakezdési időpontokhoz igazították.",
        "A buszmegállók akadálymentesítése {N} településen fejeződött be.",
        "A kerékpárutak hálózata a munkába járást és a turizmust egyaránt szolgálja.",
    ],
    &[
        "A víziközmű-hálózat elöregedett, a vezetékek jelentős része azbesztcement.",
        "A szennyvízcsatorna-hálózatra a lakások {P}-a csatlakozott.",
        "Az illegális hulladéklerakók felszámolására a társulás {NF} összeget különített el.",
        "A közintézmények tetejére telepített napelemek évente {NB} megawattóra villamos energiát termelnek.",
        "A csapadékvíz-elvezető árkok karbantartása az önkormányzatok közös feladata.",
        "A víziközművek üzemeltetése a kistelepülések számára egyre nagyobb terhet jelent.",
    ],
    &[
        "A közös önkormányzati hivatal {N} település igazgatási feladatait látja el.",
        "Az önkormányzatok együttműködését a többcélú kistérségi társulás keretei között szervezik.",
        "A társulási megállapodás módosítását valamennyi képviselő-testület jóváhagyta.",
        "Az ügyfélszolgálati pontokon {YB} {NB} ügyet intéztek.",
        "A járási hivatal kihelyezett ügyfélfogadást tart a kisebb településeken.",
        "Az önkormányzati együttműködés a közös beszerzésekkel jelentős megtakarítást hozott.",
    ],
];

/// The opening sentence of each kind, in [`Kind::ALL`](tudashalo_core::model::Kind::ALL) order.
pub(super) const OPENINGS: [&[&str]; 10] = [
    &[
        "A stratégia {Y} és {YN} között jelöli ki {K} fejlesztési irányait.",
        "A stratégiai célok: a népességmegtartás, a foglalkoztatás bővítése és a szolgáltatások elérhetőségének javítása.",
    ],
    &[
        "A koncepció a térség hosszú távú fejlesztési elképzeléseit foglalja össze.",
        "A koncepció alapja a {YB} elkészült helyzetfeltárás.",
    ],
    &[
        "A projektterv részletezi a tevékenységeket, a költségeket és a felelősöket.",
        "A tervezett kezdés {Y}, a befejezés {YN}.",
    ],
    &[
        "A projekt {YB} zárult, a fenntartási időszak öt év.",
        "A projekt gesztora: {O}.",
    ],
    &[
        "A tanulmány a KSH és a helyi önkormányzatok adatai alapján készült.",
        "A tanulmány {N} mélyinterjú és {NB} kérdőív feldolgozására épül.",
    ],
    &[
        "Az értékelés a kitűzött célok teljesülését vizsgálja.",
        "Az indikátorok közül {N} teljesült maradéktalanul.",
    ],
    &[
        "A jó gyakorlat más kistérségekben is átvehető.",
        "A kezdeményezés sikerének kulcsa a helyi szereplők bevonása volt.",
    ],
    &[
        "A beszámoló a {Y}. év tevékenységét foglalja össze.",
        "A beszámolót a társulási tanács egyhangúlag elfogadta.",
    ],
    &[
        "Jelen vannak: a tagönkormányzatok polgármesterei, a munkaszervezet vezetője és a jegyzőkönyvvezető.",
        "A társulási tanács {N} igen szavazattal elfogadta a napirendet.",
        "Napirend előtt az elnök tájékoztatta a tagokat {TR} benyújtott pályázat állásáról.",
    ],
    &[
        "A tájékoztató a lakosság és a civil szervezetek számára készült.",
        "További információ a társulás munkaszervezeténél kérhető.",
    ],
];

/// Titles per kind, in [`Kind::ALL`](tudashalo_core::model::Kind::ALL) order.
pub(super) const TITLES: [&[&str]; 10] = [
    &[
        "{KN} {SA} stratégiája {Y}–{YS}",
        "{KN} integrált területfejlesztési stratégiája",
        "{C} integrált településfejlesztési stratégiája ({Y})",
    ],
    &["{Tn}: fejlesztési koncepció ({S})", "{KN} {SA} koncepciója"],
    &[
        "Projektterv – {Tn} ({S})",
        "{Tn}: részletes projektterv, {Y}",
    ],
    &[
        "{Tn} {S} településen",
        "Projekt-összefoglaló: {Tn} ({S}, {Y})",
    ],
    &[
        "Helyzetfeltáró tanulmány – {KN} ({SN}, {Y})",
        "Megvalósíthatósági tanulmány: {Tn} ({S})",
    ],
    &[
        "Értékelő jelentés: {Tn} ({Y})",
        "{KN} fejlesztési programjának félidei értékelése",
    ],
    &[
        "Jó gyakorlat: {Tn} {S} településen",
        "Jó gyakorlat – {Tn} kistelepülési környezetben",
    ],
    &[
        "Beszámoló {K} {Y}. évi {SA} feladatellátásáról",
        "Éves jelentés – {KN}, {Y}",
    ],
    &[
        "Jegyzőkönyv a Társulási Tanács {Y}. {M} {D}-i üléséről",
        "Jegyzőkönyv – {C} képviselő-testületi ülés, {Y}. {M} {D}.",
    ],
    &["Tájékoztató: {Tn}", "Hírlevél – {KN}, {Y}. {M}"],
];

/// Section headings of the longer kinds.
pub(super) const HEADINGS: [&str; 6] = [
    "Előzmények",
    "Helyzetelemzés",
    "Célok és prioritások",
    "Beavatkozási területek",
    "Megvalósítás és monitoring",
    "Összegzés",
];

pub(super) const MONTHS: [&str; 12] = [
    "január",
    "február",
    "március",
    "április",
    "május",
    "június",
    "július",
    "augusztus",
    "szeptember",
    "október",
    "november",
    "december",
];

pub(super) const EXTRA_TAGS: [&str; 10] = [
    "pályázat",
    "TOP",
    "EFOP",
    "LEADER",
    "társulás",
    "hátrányos helyzet",
    "esélyegyenlőség",
    "kistelepülés",
    "fenntarthatóság",
    "közösségfejlesztés",
];

/// Kind weights for documents past the first ten, in [`Kind::ALL`](tudashalo_core::model::Kind::ALL) order.
pub(super) const KIND_WEIGHTS: [u32; 10] = [6, 8, 12, 16, 10, 8, 8, 14, 12, 6];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_inflected_by_rule() {
        let t = &TOPICS[0];
        assert_eq!(t.accusative, "az óvodai férőhelyek bővítését");
        assert_eq!(t.sublative, "az óvodai férőhelyek bővítésére");
        let r = TOPICS
            .iter()
            .find(|t| t.bare.ends_with("rekonstrukciója"))
            .unwrap();
        assert_eq!(r.accusative, "a víziközmű-hálózat rekonstrukcióját");
    }
}
