//! The rules of "Scope (口径)", each by the case that needs it, and a
//! property: over generated registers and submissions every total is its
//! reported figure or its contributors' sum, and every growth a total
//! prints compares the contributors of both years.

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::config::Pipeline;
use crate::model::Figure;

const CATALOG: &str = "code,name_zh,name_en,base_unit,kind,direction,aggregation,numerator,denominator,decimals,coverage\n\
    JOBS,城镇新增就业,New urban jobs,人,count,up,sum,,,0,area\n\
    CASES,案件,Cases answered,件,count,up,sum,,,0,\n\
    ACC,受理数,Accepted,件,count,none,sum,,,0,\n\
    CLO,结案数,Closed,件,count,up,sum,,,0,\n\
    RATE,结案率,Closure rate,%,rate,up,ratio,CLO,ACC,1,\n";

/// A city (C) whose bureau (C-B) reports for it, two districts with a
/// bureau each.
const REGISTER: &str = "code,name_zh,name_en,parent,reports_for\n\
    C,市,City,,\n\
    C-B,市局,City bureau,C,C\n\
    D1,一区,District 1,C,\n\
    D1-B,一区局,District 1 bureau,D1,\n\
    D2,二区,District 2,C,\n\
    D2-B,二区局,District 2 bureau,D2,\n";

/// A pipeline over `catalog` and `register`, in `dir`.
fn pipeline(dir: &Path, catalog: &str, register: &str) -> Pipeline {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(dir.join("catalog.csv"), catalog).unwrap();
    std::fs::write(dir.join("agencies.csv"), register).unwrap();
    let toml = format!(
        "[inputs]\nsubmissions = \"in\"\n[schemas]\ncatalog = \"catalog.csv\"\nagencies = \"agencies.csv\"\n\
         units = \"{0}/schemas/units.toml\"\nlayouts = \"{0}/schemas/layouts.toml\"\n[output]\ndir = \"out\"\n",
        repo.display()
    );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, toml).unwrap();
    Pipeline::load(&path, Default::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A row: `agency` sent `value` (and `target`) of `indicator` for `year`,
/// from line `line` of file 0.
fn row(p: &Pipeline, agency: &str, indicator: &str, year: i32, value: &str, target: Option<&str>) -> Observation {
    Observation {
        key: Key { agency: p.register.get(agency).unwrap(), indicator: p.catalog.get(indicator).unwrap(), year },
        value: Some(d(value)),
        target: target.map(d),
        claimed_completion: None,
        claimed_growth: None,
        unit: "".into(),
        power: 0,
        note: None,
        value_raw: value.into(),
        target_raw: None,
        origin: Origin { file: FileId(0), line: 2, byte: 0, column: 0 },
    }
}

/// The totals of `rows`, all in one bucket, keyed by (parent, indicator,
/// year) codes.
fn totals(p: &Pipeline, mut rows: Vec<Observation>) -> BTreeMap<(String, String, i32), Total> {
    rows.sort_by_key(|o| (o.key.year, o.key.agency, o.key.indicator));
    let tree = Tree::new(p.rules(), &p.register);
    let mut agg = Aggregator::new(&tree);
    agg.merge(tree.partial(&rows));
    agg.finish()
        .into_iter()
        .map(|t| {
            let k = t.key;
            let key = (p.register.agency(k.agency).code.clone(), p.catalog.indicator(k.indicator).code.clone(), k.year);
            (key, t)
        })
        .collect()
}

fn total<'t>(t: &'t BTreeMap<(String, String, i32), Total>, parent: &str, ind: &str, year: i32) -> &'t Total {
    t.get(&(parent.to_owned(), ind.to_owned(), year)).unwrap_or_else(|| panic!("no total {parent} {ind} {year}"))
}

fn codes(p: &Pipeline, ids: &[AgencyId]) -> Vec<String> {
    ids.iter().map(|&a| p.register.agency(a).code.clone()).collect()
}

fn rounded(o: &Outcome) -> Option<String> {
    o.as_ref().ok().map(|f: &Figure| f.rounded.to_string())
}

#[test]
fn a_declared_reporters_area_figure_is_the_total_and_the_districts_sum_sits_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(
        &p,
        vec![
            row(&p, "C-B", "JOBS", 2021, "376200", Some("350000")),
            row(&p, "D1-B", "JOBS", 2021, "22874", None),
            row(&p, "D2-B", "JOBS", 2021, "37323", None),
        ],
    );
    let city = total(&t, "C", "JOBS", 2021);
    assert_eq!(city.scope, Scope::Reported);
    assert_eq!(city.value, Some(d("376200")));
    assert_eq!(city.report.map(|r| p.register.agency(r.by).code.as_str()), Some("C-B"));
    assert_eq!((city.members, city.unallocated), (Some(d("60197")), Some(d("316003"))));
    assert_eq!(codes(&p, &city.contributors), ["D1-B", "D2-B"]);
    // Completion: the reported figure against the reported target.
    assert_eq!(rounded(&city.completion).as_deref(), Some("107.5"));
    assert!(city.findings.is_empty());
}

#[test]
fn a_reporters_own_figure_is_summed_with_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(&p, vec![row(&p, "C-B", "CASES", 2021, "113", None), row(&p, "D1-B", "CASES", 2021, "20", None)]);
    let city = total(&t, "C", "CASES", 2021);
    assert_eq!((city.scope, city.value), (Scope::Summed, Some(d("133"))));
    assert_eq!(codes(&p, &city.contributors), ["C-B", "D1-B"]);
    assert_eq!(city.unallocated, None);
}

#[test]
fn a_tables_own_total_row_is_the_parents_reported_figure() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(
        &p,
        vec![
            row(&p, "C", "CASES", 2021, "1208", None),
            row(&p, "C-B", "CASES", 2021, "316", None),
            row(&p, "D1-B", "CASES", 2021, "287", None),
            row(&p, "D2-B", "CASES", 2021, "602", None),
        ],
    );
    let city = total(&t, "C", "CASES", 2021);
    assert_eq!((city.scope, city.value), (Scope::Reported, Some(d("1208"))));
    assert_eq!(city.report.map(|r| r.by), p.register.get("C"));
    assert_eq!((city.members, city.unallocated), (Some(d("1205")), Some(d("3"))));
    assert!(city.findings.is_empty());
}

#[test]
fn members_exceeding_the_reported_whole_is_a_finding_not_a_new_figure() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(
        &p,
        vec![
            row(&p, "C", "CASES", 2021, "1174", None),
            row(&p, "D1-B", "CASES", 2021, "600", None),
            row(&p, "D2-B", "CASES", 2021, "577", None),
        ],
    );
    let city = total(&t, "C", "CASES", 2021);
    assert_eq!(city.value, Some(d("1174")));
    assert_eq!(city.unallocated, Some(d("-3")));
    assert_eq!(city.findings, [Finding::MembersExceedReported]);
    let (zh, en) = findings_text(city, |a| &p.register.agency(a).code).unwrap();
    assert_eq!(en, "the members' sum 1177 exceeds the reported figure 1174 by 3");
    assert_eq!(zh, "下级合计1177大于上报数1174（超出3）");
    // Parts that add up to the whole are no finding.
    let t = totals(&p, vec![row(&p, "C", "CASES", 2021, "600", None), row(&p, "D1-B", "CASES", 2021, "600", None)]);
    assert!(total(&t, "C", "CASES", 2021).findings.is_empty());
}

#[test]
fn a_contributor_missing_in_one_year_leaves_the_comparable_growth_right_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(
        &p,
        vec![
            row(&p, "D1-B", "CASES", 2020, "100", None),
            row(&p, "D2-B", "CASES", 2020, "50", None),
            row(&p, "D1-B", "CASES", 2021, "110", None),
        ],
    );
    let city = total(&t, "C", "CASES", 2021);
    // 110 against 150 would be −26.67 %: two different sets of agencies.
    assert_eq!(city.value, Some(d("110")));
    assert_eq!(city.basis, Basis::Comparable);
    assert_eq!((city.compared, city.previous), (Some(d("110")), Ok(d("100"))));
    assert_eq!(rounded(&city.growth).as_deref(), Some("10.00"));
    assert_eq!(codes(&p, &city.not_compared), ["D2-B"]);
    assert_eq!(codes(&p, &city.missing), ["D2-B"]);
}

#[test]
fn a_reported_ratio_is_its_reported_parts_beside_the_members_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(
        &p,
        vec![
            row(&p, "C", "ACC", 2021, "1000", None),
            row(&p, "C", "CLO", 2021, "950", None),
            row(&p, "D1-B", "ACC", 2021, "100", None),
            row(&p, "D1-B", "CLO", 2021, "90", None),
            row(&p, "D2-B", "ACC", 2021, "200", None),
            row(&p, "D2-B", "CLO", 2021, "170", None),
        ],
    );
    let rate = total(&t, "C", "RATE", 2021);
    assert_eq!(rate.scope, Scope::Reported);
    assert_eq!((rate.numerator, rate.denominator), (Some(d("950")), Some(d("1000"))));
    assert_eq!(rate.value, Some(d("95.0")));
    // 260 / 300 = 86.67 %.
    assert_eq!(rate.members, Some(d("86.7")));
    assert_eq!(codes(&p, &rate.contributors), ["D1-B", "D2-B"]);
}

#[test]
fn two_reports_that_differ_are_a_finding_and_the_declared_reporter_wins() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(&p, vec![row(&p, "C", "JOBS", 2021, "376190", None), row(&p, "C-B", "JOBS", 2021, "376200", None)]);
    let city = total(&t, "C", "JOBS", 2021);
    assert_eq!(city.value, Some(d("376200")));
    assert_eq!(city.findings, [Finding::ConflictingReports]);
    assert_eq!(city.conflicts.iter().map(|r| r.value).collect::<Vec<_>>(), [d("376190")]);
    let (_, en) = findings_text(city, |a| &p.register.agency(a).code).unwrap();
    assert_eq!(en, "C-B sent 376200, C sent 376190; C-B's figure is the total (the reporter the register declares)");
    // The same figure twice is no conflict.
    let t = totals(&p, vec![row(&p, "C", "JOBS", 2021, "376200", None), row(&p, "C-B", "JOBS", 2021, "376200", None)]);
    assert!(total(&t, "C", "JOBS", 2021).findings.is_empty());
}

#[test]
fn a_member_with_a_reported_figure_stands_for_everything_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(
        &p,
        vec![
            row(&p, "D1", "CASES", 2021, "500", None),
            row(&p, "D1-B", "CASES", 2021, "300", None),
            row(&p, "D2-B", "CASES", 2021, "400", None),
        ],
    );
    let city = total(&t, "C", "CASES", 2021);
    assert_eq!(city.value, Some(d("900")), "D1 counts once, by its reported 500");
    assert_eq!(codes(&p, &city.contributors), ["D1", "D2-B"]);
    let d1 = total(&t, "D1", "CASES", 2021);
    assert_eq!((d1.value, d1.members), (Some(d("500")), Some(d("300"))));
}

#[test]
fn a_reported_growth_compares_reported_figures_and_a_change_of_basis_prints_none() {
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(dir.path(), CATALOG, REGISTER);
    let t = totals(
        &p,
        vec![
            row(&p, "D1-B", "JOBS", 2019, "20000", None),
            row(&p, "C-B", "JOBS", 2020, "370900", None),
            row(&p, "D1-B", "JOBS", 2020, "21000", None),
            row(&p, "C-B", "JOBS", 2021, "376200", None),
            row(&p, "D1-B", "JOBS", 2021, "22874", None),
        ],
    );
    // 2020: reported, 2019 was the districts' sum: not comparable.
    let y2020 = total(&t, "C", "JOBS", 2020);
    assert_eq!((y2020.basis, y2020.growth.err()), (Basis::None, Some(NullReason::BasisChanged)));
    let y2021 = total(&t, "C", "JOBS", 2021);
    assert_eq!(y2021.basis, Basis::Reported);
    assert_eq!(rounded(&y2021.growth).as_deref(), Some("1.43"));
}

/// A generated register: agency `i` (code `A{i:02}`) has parent
/// `parents[i]` (an earlier agency, or none for the first); some agencies
/// without members report for a total.
#[derive(Debug, Clone)]
struct World {
    parents: Vec<Option<usize>>,
    reports_for: Vec<Option<usize>>,
    /// (agency, indicator 0 = JOBS / 1 = CASES, year 0 / 1) → value.
    values: BTreeMap<(usize, usize, usize), u32>,
}

fn world() -> impl Strategy<Value = World> {
    (3usize..12)
        .prop_flat_map(|n| {
            let parents = (1..n).map(|i| (0..i).prop_map(Some).boxed()).collect::<Vec<_>>();
            let picks = proptest::collection::vec((any::<bool>(), 0usize..64), n);
            let values = proptest::collection::btree_map((0..n, 0usize..2, 0usize..2), 1u32..1000, 0..(4 * n));
            (parents, picks, values)
        })
        .prop_map(|(parents, picks, values)| {
            let mut parents: Vec<Option<usize>> = std::iter::once(None).chain(parents).collect();
            // A group of trees is no tree: agency 0 is the one root.
            parents[0] = None;
            let n = parents.len();
            let has_children: Vec<bool> = (0..n).map(|i| parents.contains(&Some(i))).collect();
            let totals: Vec<usize> = (0..n).filter(|&i| has_children[i]).collect();
            let reports_for = picks
                .iter()
                .enumerate()
                .map(|(i, &(reports, at))| {
                    (reports && !has_children[i] && !totals.is_empty()).then(|| totals[at % totals.len()])
                })
                .collect();
            World { parents, reports_for, values }
        })
}

/// The model: SUBMISSIONS.md "Scope" read literally, agency by agency.
struct Model<'w> {
    w: &'w World,
}

const INDICATORS: [&str; 2] = ["JOBS", "CASES"];

impl Model<'_> {
    fn is_total(&self, a: usize) -> bool {
        self.w.parents.contains(&Some(a))
    }

    fn reported(&self, a: usize, ind: usize, year: usize) -> Option<u32> {
        if !self.is_total(a) {
            return None;
        }
        // A declared reporter (the lowest code first) wins for JOBS (area).
        let reporters = (0..self.w.parents.len()).filter(|&r| self.w.reports_for[r] == Some(a) && ind == 0);
        let mut sent = reporters.filter_map(|r| self.w.values.get(&(r, ind, year)).copied());
        sent.next().or_else(|| self.w.values.get(&(a, ind, year)).copied())
    }

    fn contributors(&self, a: usize, ind: usize, year: usize) -> BTreeMap<usize, u32> {
        let mut out = BTreeMap::new();
        for m in (0..self.w.parents.len()).filter(|&m| self.w.parents[m] == Some(a)) {
            if let Some(r) = self.reported(m, ind, year) {
                out.insert(m, r);
            } else if self.is_total(m) {
                out.extend(self.contributors(m, ind, year));
            } else if !(ind == 0 && self.w.reports_for[m].is_some())
                && let Some(&v) = self.w.values.get(&(m, ind, year))
            {
                out.insert(m, v);
            }
        }
        out
    }
}

fn register_of(w: &World) -> String {
    let mut s = String::from("code,name_zh,name_en,parent,reports_for\n");
    for (i, p) in w.parents.iter().enumerate() {
        let code = |x: Option<usize>| x.map(|x| format!("A{x:02}")).unwrap_or_default();
        s.push_str(&format!("A{i:02},单位{i},Agency {i},{},{}\n", code(*p), code(w.reports_for[i])));
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_total_is_its_report_or_its_contributors_sum_and_grows_over_both_years_contributors(w in world()) {
        let dir = tempfile::tempdir().unwrap();
        let p = pipeline(dir.path(), CATALOG, &register_of(&w));
        let rows: Vec<Observation> = w
            .values
            .iter()
            .map(|(&(a, ind, y), v)| row(&p, &format!("A{a:02}"), INDICATORS[ind], 2020 + y as i32, &v.to_string(), None))
            .collect();
        let t = totals(&p, rows);
        let model = Model { w: &w };
        for ((parent, ind, year), total) in &t {
            let a: usize = parent[1..].parse().unwrap();
            let i = INDICATORS.iter().position(|x| x == ind).unwrap();
            let y = (*year - 2020) as usize;
            let now = model.contributors(a, i, y);
            let sum: u32 = now.values().sum();
            let listed: Vec<usize> = codes(&p, &total.contributors).iter().map(|c| c[1..].parse().unwrap()).collect();
            prop_assert_eq!(&listed, &now.keys().copied().collect::<Vec<_>>(), "{} {} {}", parent, ind, year);
            match model.reported(a, i, y) {
                Some(r) => prop_assert_eq!(total.value, Some(Decimal::new(r.into(), 0))),
                None if now.is_empty() => prop_assert_eq!(total.value, None),
                None => prop_assert_eq!(total.value, Some(Decimal::new(sum.into(), 0))),
            }
            if let Ok(g) = &total.growth {
                let (this, then) = match (model.reported(a, i, y), y.checked_sub(1).and_then(|b| model.reported(a, i, b))) {
                    (Some(r), Some(b)) => (r, b),
                    (Some(_), None) => { prop_assert!(false, "a reported figure grew against no reported figure"); unreachable!() }
                    (None, _) => {
                        let before = model.contributors(a, i, y - 1);
                        let both: Vec<&usize> = now.keys().filter(|c| before.contains_key(*c)).collect();
                        (both.iter().map(|c| now[*c]).sum(), both.iter().map(|c| before[*c]).sum())
                    }
                };
                let want = Ratio::new(Decimal::new((this as i128) - (then as i128), 0), Decimal::new(then.into(), 0))
                    .unwrap()
                    .times(100)
                    .unwrap();
                let at = |r: Ratio| r.round(20, crate::decimal::Rounding::HalfUp);
                prop_assert_eq!(at(g.exact), at(want), "{} {} {}", parent, ind, year);
            }
        }
    }
}
