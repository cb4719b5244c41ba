//! The agency register: code, names and parent, so that totals roll up the
//! hierarchy (agency → district → city), and groups that stand beside it.
//!
//! The register may have several roots (one city's tree, or countries side
//! by side). A group (a region, an income group) is a row whose code other
//! rows list in their optional `groups` column: its totals are computed
//! from its members as a parent's are (SUBMISSIONS.md "Scope"), but it has
//! no parent, is in no tree, and its totals are never summed into
//! anything. An agency needs a name in one language at least.
//!
//! An agency may report for a parent (`reports_for`, SUBMISSIONS.md
//! "Scope"): the municipal bureau whose figure of new urban jobs covers the
//! whole city. Its figures of `area` indicators are the parent's reported
//! figures, its `own` figures stay its own; `crate::aggregate` applies it.

use rustc_hash::FxHashMap;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, ConfigErrors, table};

const COLUMNS: [&str; 4] = ["code", "name_zh", "name_en", "parent"];
const OPTIONAL: [&str; 2] = ["groups", "reports_for"];

/// Index of an agency in the register, which is sorted by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct AgencyId(pub u32);

#[derive(Debug, Clone)]
pub struct Agency {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub parent: Option<AgencyId>,
    /// Whether some agency names this one as its parent.
    pub has_children: bool,
    /// The groups this agency (and every agency under it) is a member of.
    pub groups: Vec<AgencyId>,
    /// Whether some agency lists this one as its group.
    pub is_group: bool,
    /// The parent whose `area` figures this agency sends (`reports_for`).
    pub reports_for: Option<AgencyId>,
}

impl Agency {
    /// The name people read: the Chinese one, else the English one.
    pub fn name(&self) -> &str {
        if self.name_zh.is_empty() { &self.name_en } else { &self.name_zh }
    }
}

#[derive(Debug, Deserialize)]
struct RegisterRow {
    code: String,
    name_zh: String,
    name_en: String,
    parent: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    reports_for: String,
}

#[derive(Debug, Clone)]
pub struct Register {
    agencies: Vec<Agency>,
    by_code: FxHashMap<String, AgencyId>,
    /// Normalized Chinese and English names that name one agency.
    by_name: FxHashMap<String, AgencyId>,
}

impl Register {
    pub fn load(path: &Path) -> Result<Register, ConfigErrors> {
        let (mut rows, mut errors) = table::read::<RegisterRow>(path, &COLUMNS, &OPTIONAL);
        let by_code: FxHashMap<String, AgencyId> = table::index_by_code(path, &mut rows, |r| &r.code, &mut errors)
            .into_iter()
            .map(|(code, i)| (code, AgencyId(i)))
            .collect();
        let mut agencies: Vec<Agency> = Vec::with_capacity(rows.len());
        for row in &rows {
            let r = &row.value;
            let mut err = |msg: String| errors.push(ConfigError::new(path, Some(row.line), msg));
            if r.name_zh.is_empty() && r.name_en.is_empty() {
                err(format!("`{}`: a name is required (name_zh or name_en)", r.code));
            }
            let parent = if r.parent.is_empty() {
                None
            } else {
                let id = by_code.get(&r.parent).copied();
                if id.is_none() {
                    err(format!("`{}`: parent `{}` is not in the register", r.code, r.parent));
                }
                id
            };
            let mut groups = Vec::new();
            for g in r.groups.split_whitespace() {
                match by_code.get(g) {
                    Some(&id) if g != r.code => groups.push(id),
                    Some(_) => err(format!("`{}`: an agency is not a group of its own", r.code)),
                    None => err(format!("`{}`: group `{g}` is not in the register", r.code)),
                }
            }
            agencies.push(Agency {
                code: r.code.clone(),
                name_zh: r.name_zh.clone(),
                name_en: r.name_en.clone(),
                parent,
                has_children: false,
                groups,
                is_group: false,
                reports_for: None,
            });
        }
        for i in 0..agencies.len() {
            if let Some(p) = agencies[i].parent {
                agencies[p.0 as usize].has_children = true;
            }
            for g in agencies[i].groups.clone() {
                agencies[g.0 as usize].is_group = true;
            }
        }
        for (row, a) in rows.iter().zip(&agencies) {
            // A group stands beside the trees: in none of them, in no group.
            if a.is_group && (a.parent.is_some() || a.has_children || !a.groups.is_empty()) {
                let msg = format!("`{}`: a group has no parent, no children and no groups of its own", a.code);
                errors.push(ConfigError::new(path, Some(row.line), msg));
            }
        }
        // A reporter is an agency without members, reporting for a parent
        // or a group: a total whose figure someone can send.
        for (row, i) in rows.iter().zip(0..agencies.len()) {
            let code = &row.value.reports_for;
            if code.is_empty() {
                continue;
            }
            let mut err = |msg: String| errors.push(ConfigError::new(path, Some(row.line), msg));
            match by_code.get(code.as_str()) {
                None => err(format!("`{}`: reports_for `{code}` is not in the register", row.value.code)),
                Some(&p) if !(agencies[p.0 as usize].has_children || agencies[p.0 as usize].is_group) => {
                    err(format!("`{}`: reports_for `{code}`, which has no members to report for", row.value.code))
                }
                Some(_) if agencies[i].has_children || agencies[i].is_group => err(format!(
                    "`{}`: reports_for is for an agency without members (a parent's own rows are its reported figures)",
                    row.value.code
                )),
                Some(&p) => agencies[i].reports_for = Some(p),
            }
        }
        // Every chain of parents must end at a root, without a cycle.
        for (i, row) in rows.iter().enumerate() {
            let mut steps = 0;
            let mut at = agencies.get(i).and_then(|a| a.parent);
            while let Some(p) = at {
                steps += 1;
                if steps > agencies.len() {
                    errors.push(ConfigError::new(
                        path,
                        Some(row.line),
                        format!("`{}`: its parents form a cycle", row.value.code),
                    ));
                    break;
                }
                at = agencies[p.0 as usize].parent;
            }
        }
        if agencies.is_empty() && errors.is_empty() {
            errors.push(ConfigError::new(path, None, "the register has no agency"));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let names = agencies.iter().enumerate().flat_map(|(i, a)| {
            let id = AgencyId(i as u32);
            [(a.name_zh.as_str(), id), (a.name_en.as_str(), id)]
        });
        let by_name = super::names::name_index(names);
        Ok(Register { agencies, by_code, by_name })
    }

    pub fn get(&self, code: &str) -> Option<AgencyId> {
        self.by_code.get(code).copied()
    }

    /// The agency a name (Chinese or English, any case) names, where only
    /// one agency has it.
    pub fn by_name(&self, name: &str) -> Option<AgencyId> {
        self.by_name.get(&super::names::normalize(name)).copied()
    }

    pub fn agency(&self, id: AgencyId) -> &Agency {
        &self.agencies[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (AgencyId, &Agency)> {
        self.agencies.iter().enumerate().map(|(i, a)| (AgencyId(i as u32), a))
    }

    pub fn len(&self) -> usize {
        self.agencies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.agencies.is_empty()
    }

    /// The parents of `id`, nearest first, up to its root.
    pub fn ancestors(&self, id: AgencyId) -> impl Iterator<Item = AgencyId> + '_ {
        std::iter::successors(self.agency(id).parent, |p| self.agency(*p).parent)
    }

    /// Every total an agency's figures count in: its parents up to its
    /// root, then the groups it or any of its parents is a member of.
    pub fn totals_of(&self, id: AgencyId) -> Vec<AgencyId> {
        let mut out: Vec<AgencyId> = self.ancestors(id).collect();
        let mut groups: Vec<AgencyId> =
            std::iter::once(id).chain(self.ancestors(id)).flat_map(|a| self.agency(a).groups.iter().copied()).collect();
        groups.sort_unstable();
        groups.dedup();
        out.extend(groups);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Register, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agencies.csv");
        std::fs::write(&path, text).unwrap();
        Register::load(&path)
    }

    #[test]
    fn several_roots_groups_beside_the_trees_and_one_name_is_enough() {
        let r = load(
            "code,name_zh,name_en,parent,groups\n\
             CHN,中国,China,,ASIA UMIC\n\
             CHN-TJ,天津,,CHN,\n\
             JPN,,Japan,,ASIA\n\
             ASIA,,East Asia,,\n\
             UMIC,,Upper middle income,,\n",
        )
        .unwrap();
        let id = |c: &str| r.get(c).unwrap();
        assert_eq!(r.totals_of(id("CHN-TJ")), [id("CHN"), id("ASIA"), id("UMIC")]);
        assert_eq!(r.totals_of(id("JPN")), [id("ASIA")]);
        assert!(r.agency(id("ASIA")).is_group && !r.agency(id("CHN")).is_group);
        assert_eq!(r.agency(id("JPN")).name(), "Japan");
        assert_eq!(r.by_name("japan"), Some(id("JPN")));
    }

    #[test]
    fn a_group_in_a_tree_or_an_unknown_group_is_an_error() {
        let err = load(
            "code,name_zh,name_en,parent,groups\n\
             A,甲,,,B\n\
             B,乙,,C,\n\
             C,丙,,,NONE\n\
             D,,,,\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(":3: `B`: a group has no parent"), "{err}");
        assert!(err.contains(":4: `C`: group `NONE` is not in the register"), "{err}");
        assert!(err.contains(":5: `D`: a name is required"), "{err}");
    }

    #[test]
    fn an_agency_reports_for_a_total_and_only_one_without_members_does() {
        let r = load(
            "code,name_zh,name_en,parent,reports_for\n\
             C,市,,,\n\
             C-B,市局,,C,C\n\
             D1,一区,,C,\n\
             D1-B,一区局,,D1,\n",
        )
        .unwrap();
        assert_eq!(r.agency(r.get("C-B").unwrap()).reports_for, r.get("C"));
        assert_eq!(r.agency(r.get("D1-B").unwrap()).reports_for, None);
        let err = load(
            "code,name_zh,name_en,parent,reports_for\n\
             C,市,,,\n\
             C-B,市局,,C,NOPE\n\
             D1,一区,,C,C\n\
             D1-B,一区局,,D1,C-B\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(":3: `C-B`: reports_for `NOPE` is not in the register"), "{err}");
        assert!(err.contains(":4: `D1`: reports_for is for an agency without members"), "{err}");
        assert!(err.contains(":5: `D1-B`: reports_for `C-B`, which has no members to report for"), "{err}");
    }
}
