// The network of a campaign drawn as a picture: customers and the identifiers they
// share, laid out on two rings (identifiers inside, customers outside) so that it
// reads without a script. Customers holding exactly the same shared identifiers are
// drawn as one node with their count, and beyond a cap the rest are counted, so a
// ring of 300 accounts on one device is one node with "300", not 300 dots.

use std::collections::BTreeMap;
use std::f64::consts::PI;

/// Identifiers drawn at most; the rest are counted.
pub const MAX_IDENTIFIERS: usize = 24;
/// Customer nodes (single customers or groups) drawn at most; the rest are counted.
pub const MAX_CUSTOMER_NODES: usize = 60;

/// An identifier shared by some of the campaign's customers.
pub struct SharedId {
    pub label: String,
    pub customers: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Identifier,
    Customer,
    /// Several customers holding the same identifiers.
    Group,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub x: f64,
    pub y: f64,
    pub r: f64,
    pub label: String,
    /// Customers the node stands for (1 for a customer, the size of a group), or the
    /// customers holding an identifier.
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub size: f64,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Identifiers and customers not drawn (beyond the caps).
    pub hidden_identifiers: usize,
    pub hidden_customers: usize,
}

/// The customers (id, label) of one node.
type Members<'a> = Vec<&'a (i64, String)>;

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn on_ring(centre: f64, radius: f64, i: usize, n: usize) -> (f64, f64) {
    let angle = -PI / 2.0 + 2.0 * PI * (i as f64) / (n.max(1) as f64);
    (
        round(centre + radius * angle.cos()),
        round(centre + radius * angle.sin()),
    )
}

/// Lays out `customers` (id, label) and the identifiers they share. Only identifiers
/// held by two customers or more are drawn; the most shared first.
pub fn layout(customers: &[(i64, String)], shared: &[SharedId]) -> Graph {
    let mut ids: Vec<&SharedId> = shared.iter().filter(|s| s.customers.len() >= 2).collect();
    ids.sort_by_key(|s| std::cmp::Reverse(s.customers.len()));
    let hidden_identifiers = ids.len().saturating_sub(MAX_IDENTIFIERS);
    ids.truncate(MAX_IDENTIFIERS);

    // Each customer's drawn identifiers (by index); customers with the same set form
    // one node. Ordered by their first identifier so edges stay short.
    let mut sets: BTreeMap<Vec<usize>, Members> = BTreeMap::new();
    for c in customers {
        let set: Vec<usize> = ids
            .iter()
            .enumerate()
            .filter(|(_, s)| s.customers.contains(&c.0))
            .map(|(i, _)| i)
            .collect();
        sets.entry(set).or_default().push(c);
    }
    let mut groups: Vec<(Vec<usize>, Members)> = sets.into_iter().collect();
    // The biggest groups are kept when there are too many.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(groups[*i].1.len()));
    let keep: std::collections::HashSet<usize> =
        order.into_iter().take(MAX_CUSTOMER_NODES).collect();
    let mut hidden_customers = 0;
    let mut kept = Vec::new();
    for (i, g) in groups.drain(..).enumerate() {
        if keep.contains(&i) {
            kept.push(g);
        } else {
            hidden_customers += g.1.len();
        }
    }

    let n_outer = kept.len();
    let size = if n_outer > 30 || ids.len() > 12 {
        720.0
    } else {
        480.0
    };
    let centre = size / 2.0;
    let inner = if ids.len() <= 1 { 0.0 } else { size * 0.18 };
    let outer = size * 0.38;

    let mut nodes = Vec::new();
    let mut id_pos = Vec::new();
    for (i, s) in ids.iter().enumerate() {
        let (x, y) = on_ring(centre, inner, i, ids.len());
        id_pos.push((x, y));
        nodes.push(Node {
            kind: NodeKind::Identifier,
            x,
            y,
            r: round(7.0 + (s.customers.len() as f64).sqrt().min(12.0)),
            label: s.label.clone(),
            count: s.customers.len(),
        });
    }
    let mut edges = Vec::new();
    for (i, (set, members)) in kept.iter().enumerate() {
        let (x, y) = on_ring(centre, outer, i, n_outer);
        let (kind, label, r) = if members.len() == 1 {
            (NodeKind::Customer, members[0].1.clone(), 5.0)
        } else {
            (
                NodeKind::Group,
                format!("×{}", members.len()),
                round(6.0 + (members.len() as f64).sqrt() * 1.5).min(22.0),
            )
        };
        for j in set {
            let (ix, iy) = id_pos[*j];
            edges.push(Edge {
                x1: x,
                y1: y,
                x2: ix,
                y2: iy,
            });
        }
        nodes.push(Node {
            kind,
            x,
            y,
            r,
            label,
            count: members.len(),
        });
    }
    Graph {
        size,
        nodes,
        edges,
        hidden_identifiers,
        hidden_customers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customers(n: i64) -> Vec<(i64, String)> {
        (1..=n).map(|i| (i, format!("C-{i}"))).collect()
    }

    #[test]
    fn a_ring_on_one_device_is_one_group() {
        let cs = customers(300);
        let shared = vec![SharedId {
            label: "Device d-9".into(),
            customers: (1..=300).collect(),
        }];
        let g = layout(&cs, &shared);
        assert_eq!(g.nodes.len(), 2, "{:?}", g.nodes);
        assert_eq!(g.nodes[1].kind, NodeKind::Group);
        assert_eq!(g.nodes[1].count, 300);
        assert_eq!(g.nodes[1].label, "×300");
        assert_eq!(g.edges.len(), 1);
        assert_eq!((g.hidden_customers, g.hidden_identifiers), (0, 0));
    }

    #[test]
    fn too_many_shapes_are_capped_and_counted() {
        // 300 customers, each pair sharing its own IP: 150 identifiers, 150 groups.
        let cs = customers(300);
        let shared: Vec<SharedId> = (0..150)
            .map(|i| SharedId {
                label: format!("IP {i}"),
                customers: vec![2 * i + 1, 2 * i + 2],
            })
            .collect();
        let g = layout(&cs, &shared);
        let drawn_ids = g
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Identifier)
            .count();
        assert_eq!(drawn_ids, MAX_IDENTIFIERS);
        assert_eq!(g.hidden_identifiers, 150 - MAX_IDENTIFIERS);
        let drawn_customers: usize = g
            .nodes
            .iter()
            .filter(|n| n.kind != NodeKind::Identifier)
            .map(|n| n.count)
            .sum();
        assert!(g.nodes.len() <= MAX_IDENTIFIERS + MAX_CUSTOMER_NODES);
        assert_eq!(drawn_customers + g.hidden_customers, 300);
        // Every node lies inside the picture.
        assert!(g.nodes.iter().all(|n| n.x - n.r >= 0.0
            && n.x + n.r <= g.size
            && n.y - n.r >= 0.0
            && n.y + n.r <= g.size));
    }

    #[test]
    fn identifiers_of_one_customer_are_not_drawn() {
        let cs = customers(3);
        let shared = vec![
            SharedId {
                label: "Device a".into(),
                customers: vec![1, 2, 3],
            },
            SharedId {
                label: "Phone only mine".into(),
                customers: vec![1],
            },
        ];
        let g = layout(&cs, &shared);
        assert!(g.nodes.iter().all(|n| n.label != "Phone only mine"));
        assert_eq!(g.nodes.len(), 2);
    }
}
