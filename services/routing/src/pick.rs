//! The group rules: who of a group's online operators gets the next
//! conversation.

use std::collections::{HashMap, HashSet};

use omnibus_proto::GroupRule;

/// A group as routing needs it.
#[derive(Debug, Clone, Default)]
pub struct GroupState {
    /// In the order the admin gave them: ROUND_ROBIN's turn order.
    pub operators: Vec<String>,
    pub rule: GroupRule,
    /// Who got the group's last conversation (ROUND_ROBIN continues after).
    pub last: Option<String>,
}

/// The operator for the next conversation, `None` with nobody online.
/// ROUND_ROBIN: the next online operator after the last one served, in the
/// group's order. LEAST_BUSY: the online operator with the fewest open
/// assigned conversations (`load`), ties by operator id.
pub fn pick(
    group: &mut GroupState,
    online: &HashSet<String>,
    load: &HashMap<&str, usize>,
) -> Option<String> {
    let chosen = match group.rule {
        GroupRule::LeastBusy => group
            .operators
            .iter()
            .filter(|o| online.contains(*o))
            .min_by_key(|o| (load.get(o.as_str()).copied().unwrap_or(0), o.as_str()))
            .cloned(),
        _ => next_in_turn(group, online),
    }?;
    group.last = Some(chosen.clone());
    Some(chosen)
}

fn next_in_turn(group: &GroupState, online: &HashSet<String>) -> Option<String> {
    let count = group.operators.len();
    let start = group
        .last
        .as_ref()
        .and_then(|last| group.operators.iter().position(|o| o == last))
        .map_or(0, |i| i + 1);
    (0..count)
        .map(|step| &group.operators[(start + step) % count])
        .find(|o| online.contains(*o))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(rule: GroupRule) -> GroupState {
        GroupState {
            operators: vec!["c".into(), "a".into(), "b".into()],
            rule,
            last: None,
        }
    }

    fn online(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn round_robin_takes_online_operators_in_turn() {
        let mut g = group(GroupRule::RoundRobin);
        let on = online(&["c", "b"]);
        let load = HashMap::new();
        let picks: Vec<_> = (0..4).map(|_| pick(&mut g, &on, &load).unwrap()).collect();
        assert_eq!(picks, ["c", "b", "c", "b"]);
        assert_eq!(pick(&mut g, &online(&[]), &load), None);
    }

    #[test]
    fn least_busy_takes_the_fewest_then_the_smallest_id() {
        let mut g = group(GroupRule::LeastBusy);
        let on = online(&["a", "b", "c"]);
        let load = HashMap::from([("a", 2), ("b", 1), ("c", 1)]);
        assert_eq!(pick(&mut g, &on, &load).as_deref(), Some("b"));
        let load = HashMap::from([("a", 0), ("b", 1)]);
        assert_eq!(
            pick(&mut g, &online(&["b", "c"]), &load).as_deref(),
            Some("c")
        );
    }
}
