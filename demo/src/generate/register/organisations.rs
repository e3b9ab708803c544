//! The organisations of a node: municipalities, the association,
//! institutions, nonprofits, civil and church bodies, with törzsszám and tax
//! number, and the regional partners shared with the neighbours.

use super::*;

/// What an organisation is, for choosing beneficiaries, members, contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrgKind {
    /// The municipality of settlement `i`.
    Municipality(usize),
    Association,
    FamilyService,
    Kindergarten,
    School,
    DevelopmentCompany,
    CityCompany,
    SocialCooperative,
    /// A local civil organisation.
    Civil,
    Church,
    Partner(usize),
}

pub(super) struct Made {
    pub(super) org: Organisation,
    pub(super) kind: OrgKind,
    pub(super) positions: &'static [&'static str],
}

/// A törzsszám: `prefix`, random digits, and the check digit of the tax
/// number (weights 9, 7, 3, 1, 9, 7, 3; the weighted sum ends in 0).
pub(super) fn torzsszam(rng: &mut Rng, prefix: &str) -> String {
    let mut digits: Vec<u32> = prefix.chars().filter_map(|c| c.to_digit(10)).collect();
    while digits.len() < 7 {
        digits.push(rng.below(10) as u32);
    }
    digits.truncate(7);
    digits.push(check_digit(&digits));
    digits.iter().map(|d| d.to_string()).collect()
}

pub(super) fn check_digit(first_seven: &[u32]) -> u32 {
    let sum: u32 = first_seven
        .iter()
        .zip([9, 7, 3, 1, 9, 7, 3])
        .map(|(d, w)| d * w)
        .sum();
    (10 - sum % 10) % 10
}

/// How the register numbers of a legal form usually begin (budgetary
/// bodies 15…, companies 2…, court-registered civil bodies 18…/19…), the
/// VAT code in the tax number, and the GFO code where it is certain.
pub(super) fn form_traits(form: LegalForm) -> (&'static str, u8, Option<u16>) {
    match form {
        LegalForm::Municipality => ("157", 2, Some(321)),
        LegalForm::MunicipalAssociation => ("155", 2, None),
        LegalForm::PublicInstitution => ("158", 1, None),
        LegalForm::NonprofitCompany => ("2", 2, Some(572)),
        LegalForm::Civil => ("18", 1, None),
        LegalForm::Church => ("19", 1, None),
        _ => ("2", 2, None),
    }
}

/// Collects the organisations of one node, with unique numbers.
pub(super) struct Orgs {
    pub(super) made: Vec<Made>,
    pub(super) numbers: BTreeSet<String>,
    pub(super) tax_area: &'static str,
}

impl Orgs {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        &mut self,
        rng: &mut Rng,
        kind: OrgKind,
        id: String,
        name: String,
        form: LegalForm,
        seat: &str,
        sectors: &[usize],
        website: Option<String>,
        positions: &'static [&'static str],
    ) {
        let (prefix, vat, gfo) = form_traits(form);
        let number = loop {
            let n = torzsszam(rng, prefix);
            if self.numbers.insert(n.clone()) {
                break n;
            }
        };
        let tax = format!("{number}-{vat}-{}", self.tax_area);
        self.push(kind, id, name, form, gfo, number, tax, seat, sectors);
        if let Some(last) = self.made.last_mut() {
            last.org.website = website;
            last.positions = positions;
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        kind: OrgKind,
        id: String,
        name: String,
        form: LegalForm,
        gfo: Option<u16>,
        number: String,
        tax: String,
        seat: &str,
        sectors: &[usize],
    ) {
        let visibility = match form {
            LegalForm::Municipality
            | LegalForm::MunicipalAssociation
            | LegalForm::PublicInstitution => Visibility::Public,
            _ => Visibility::Federated,
        };
        self.made.push(Made {
            org: Organisation {
                id,
                name,
                legal_form: form,
                gfo,
                register_number: Some(number),
                tax_number: Some(tax),
                seat: Some(seat.to_string()),
                sectors: sectors.iter().map(|&s| SECTORS[s].to_string()).collect(),
                website: None,
                visibility,
            },
            kind,
            positions: &[],
        });
    }

    pub(super) fn id_of(&self, kind: OrgKind) -> Option<&str> {
        self.made
            .iter()
            .find(|m| m.kind == kind)
            .map(|m| m.org.id.as_str())
    }
}

/// The organisations of `k` and the data of their contact persons.
pub(super) fn organisations(k: &Kisterseg, spec: &Spec) -> Orgs {
    let mut rng = Rng::stream(
        spec.seed,
        &[STREAM_REGISTER, LOCAL, k.index as u64, PART_ORGS],
    );
    let (_, tax_area, _) = county(k.index);
    let mut orgs = Orgs {
        made: Vec::new(),
        numbers: BTreeSet::new(),
        tax_area,
    };
    let adjective = k.adjective();
    let seat = k.seat();
    let seat_adj = adjective_of(seat);
    for (i, s) in k.settlements.iter().enumerate() {
        let rank = if i == 0 || s.population >= 5_000 {
            "Város"
        } else {
            "Község"
        };
        let website =
            (s.population >= 1_000).then(|| format!("https://www.{}.example", fold(&s.name)));
        orgs.add(
            &mut rng,
            OrgKind::Municipality(i),
            format!("o-onk-{}", fold(&s.name)),
            format!("{} {rank} Önkormányzata", s.name),
            LegalForm::Municipality,
            &s.name,
            &[KOZIG],
            website,
            &["polgármester", "jegyző"],
        );
    }
    orgs.add(
        &mut rng,
        OrgKind::Association,
        "o-tarsulas".into(),
        format!("{adjective} Kistérségi Többcélú Társulás"),
        LegalForm::MunicipalAssociation,
        seat,
        &[KOZIG, SZOC, OKT],
        Some(format!("https://www.{}.example", k.slug.replace('_', "-"))),
        &["munkaszervezet-vezető", "pályázati referens"],
    );
    orgs.add(
        &mut rng,
        OrgKind::FamilyService,
        "o-csgyk".into(),
        format!("{adjective} Kistérségi Család- és Gyermekjóléti Központ"),
        LegalForm::PublicInstitution,
        seat,
        &[SZOC],
        None,
        &["intézményvezető", "családsegítő"],
    );
    // Kindergartens where there are enough children, schools in the larger
    // places; the smaller villages share them.
    for s in k.settlements.iter().filter(|s| s.population >= 700) {
        orgs.add(
            &mut rng,
            OrgKind::Kindergarten,
            format!("o-ovoda-{}", fold(&s.name)),
            format!("{} Napközi Otthonos Óvoda", adjective_of(&s.name)),
            LegalForm::PublicInstitution,
            &s.name,
            &[OKT],
            None,
            &["óvodavezető"],
        );
    }
    for s in k.settlements.iter().filter(|s| s.population >= 1_800) {
        orgs.add(
            &mut rng,
            OrgKind::School,
            format!("o-iskola-{}", fold(&s.name)),
            format!("{} Általános Iskola", adjective_of(&s.name)),
            LegalForm::PublicInstitution,
            &s.name,
            &[OKT, IFJ],
            None,
            &["intézményvezető"],
        );
    }
    orgs.add(
        &mut rng,
        OrgKind::DevelopmentCompany,
        "o-fejlesztesi-kft".into(),
        format!("{adjective} Térségfejlesztési Nonprofit Kft."),
        LegalForm::NonprofitCompany,
        seat,
        &[GAZD, FOGL],
        None,
        &["ügyvezető"],
    );
    orgs.add(
        &mut rng,
        OrgKind::CityCompany,
        "o-varosgazda".into(),
        format!("{seat_adj} Városgazdálkodási Nonprofit Kft."),
        LegalForm::NonprofitCompany,
        seat,
        &[KORNY, FOGL],
        None,
        &["ügyvezető"],
    );
    let coop_place = &k.settlements[1.min(k.settlements.len() - 1)].name;
    orgs.add(
        &mut rng,
        OrgKind::SocialCooperative,
        format!("o-szocszov-{}", fold(coop_place)),
        format!("{coop_place} Szociális Szövetkezet"),
        LegalForm::Other,
        coop_place,
        &[FOGL, SZOC],
        None,
        &["elnök"],
    );
    // Civil organisations: two or three villages' own, and the seat's.
    let mut villages: Vec<usize> = (1..k.settlements.len()).collect();
    let wanted = 2 + rng.below(2);
    while villages.len() > wanted {
        villages.remove(rng.below(villages.len()));
    }
    for &i in &villages {
        let place = &k.settlements[i].name;
        orgs.add(
            &mut rng,
            OrgKind::Civil,
            format!("o-egyesulet-{}", fold(place)),
            format!("{place} Jövőjéért Egyesület"),
            LegalForm::Civil,
            place,
            &[KOZM, IFJ],
            None,
            &["elnök"],
        );
    }
    orgs.add(
        &mut rng,
        OrgKind::Civil,
        "o-sportegyesulet".into(),
        format!("{seat_adj} Sportegyesület"),
        LegalForm::Civil,
        seat,
        &[SPORT, IFJ],
        None,
        &["elnök"],
    );
    orgs.add(
        &mut rng,
        OrgKind::Civil,
        "o-ifjusagi-alapitvany".into(),
        format!("{adjective} Kistérségi Ifjúsági Alapítvány"),
        LegalForm::Civil,
        seat,
        &[IFJ, OKT, KOZM],
        None,
        &["kuratóriumi elnök"],
    );
    if rng.chance(0.5) {
        orgs.add(
            &mut rng,
            OrgKind::Civil,
            "o-nyugdijas".into(),
            format!("{seat_adj} Nyugdíjas Egyesület"),
            LegalForm::Civil,
            seat,
            &[SZOC, KOZM],
            None,
            &["elnök"],
        );
    }
    let (church_id, church_name, church_positions): (&str, &str, &'static [&'static str]) =
        if rng.chance(0.5) {
            ("o-plebania", "Római Katolikus Plébánia", &["plébános"])
        } else {
            (
                "o-egyhazkozseg",
                "Református Egyházközség",
                &["lelkipásztor"],
            )
        };
    orgs.add(
        &mut rng,
        OrgKind::Church,
        church_id.into(),
        format!("{seat_adj} {church_name}"),
        LegalForm::Church,
        seat,
        &[SZOC, KOZM],
        None,
        church_positions,
    );
    for (p, partner) in PARTNERS.iter().enumerate() {
        regional_partner(&mut orgs, k, spec, p, partner);
    }
    orgs
}

/// Partner `p` as node `k` records it: the number, the seat and the label
/// come from the group's stream and its first kistérség, so they agree in
/// every node of the group.
pub(super) fn regional_partner(
    orgs: &mut Orgs,
    k: &Kisterseg,
    spec: &Spec,
    p: usize,
    partner: &Partner,
) {
    let group = partner_group(partner, k.index);
    let mut rng = Rng::stream(
        spec.seed,
        &[STREAM_REGISTER, REGIONAL, p as u64, group as u64],
    );
    let first = (group * partner.width).saturating_sub(partner.offset);
    let seat = if first == k.index {
        k.seat().to_string()
    } else {
        let spec_upto = Spec {
            nodes: first + 1,
            ..spec.clone()
        };
        kistersegek(&spec_upto)
            .get(first)
            .map_or_else(|| k.seat().to_string(), |f| f.seat().to_string())
    };
    let (prefix, vat, gfo) = form_traits(partner.form);
    let number = torzsszam(&mut rng, prefix);
    let tax = format!("{number}-{vat}-{}", county(first).1);
    let label = REGION_LABELS[(group * PARTNERS.len() + p) % REGION_LABELS.len()];
    let variant = k.index % 2;
    let mut name = partner.names[variant].replace("{R}", label);
    if variant == 1 {
        // The second steward types a hyphen for the dash.
        name = name.replace('–', "-");
    }
    // A number drawn for a partner is its own; a local organisation that
    // happened to draw it would be a different body with the same number.
    orgs.numbers.insert(number.clone());
    orgs.push(
        OrgKind::Partner(p),
        partner.ids[variant].to_string(),
        name,
        partner.form,
        gfo,
        number,
        tax,
        &seat,
        partner.sectors,
    );
    if let Some(last) = orgs.made.last_mut() {
        last.org.visibility = Visibility::Public;
        last.org.website = Some(format!("https://www.{}.example", fold(label)));
        last.positions = partner.positions;
    }
}
