// pkg/netfilter/nfnetlink.ts: the nfnetlink numbers shared by the in-process netfilter code (conntrack, the
// nf_tables table check, chain teardown and iptables-nft rule expressions), <linux/netfilter/nfnetlink.h> and
// <linux/netfilter/nf_tables.h>.

export const NETLINK_NETFILTER = 12;
/** struct nfgenmsg's version. */
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;

// A verdict (an immediate expression's data, or what a dump shows of one).
export const NFTA_DATA_VERDICT = 2;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;

// Chains, rules and their expressions.
export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_NAME = 3;
export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_LIST_ELEM = 1;
export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;
