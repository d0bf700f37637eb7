// pkg/ip/nl/consts.ts: rtnetlink constants under the kernel's names, so grep finds them in iproute2,
// vishvananda/netlink and <linux/*.h>. Only what pkg/ip uses, plus the obvious neighbours.

// <linux/socket.h>, <linux/netlink.h>
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;

export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;

export const SOL_NETLINK = 270;
export const SOL_SOCKET = 1;
export const SO_RCVTIMEO = 20;
/** The multicast group of link announcements (RTM_NEWLINK, RTM_DELLINK), as a bind() groups bit. */
export const RTMGRP_LINK = 1;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const NETLINK_GET_STRICT_CHK = 12;

export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;

// struct nlmsghdr, <linux/netlink.h>: 16 bytes (u32 len, u16 type, u16 flags, u32 seq, u32 pid)
export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
// GET requests
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
// NEW requests
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
// on NLMSG_ERROR replies (ACK flags)
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

// struct nlattr, <linux/netlink.h>: 4 bytes (u16 len, u16 type); the top two type bits are flags
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

// enum nlmsgerr_attrs, <linux/netlink.h>: the extended ACK TLVs after struct nlmsgerr
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

// <linux/rtnetlink.h> message types
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;
export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;

/** Names of message types, for errors that say which request failed. */
export const RTM_NAMES: Readonly<Record<number, string>> = {
  [RTM_NEWLINK]: "RTM_NEWLINK", [RTM_DELLINK]: "RTM_DELLINK", [RTM_GETLINK]: "RTM_GETLINK", [RTM_SETLINK]: "RTM_SETLINK",
  [RTM_NEWADDR]: "RTM_NEWADDR", [RTM_DELADDR]: "RTM_DELADDR", [RTM_GETADDR]: "RTM_GETADDR",
  [RTM_NEWROUTE]: "RTM_NEWROUTE", [RTM_DELROUTE]: "RTM_DELROUTE", [RTM_GETROUTE]: "RTM_GETROUTE",
  [RTM_NEWNEIGH]: "RTM_NEWNEIGH", [RTM_DELNEIGH]: "RTM_DELNEIGH", [RTM_GETNEIGH]: "RTM_GETNEIGH",
  [RTM_NEWRULE]: "RTM_NEWRULE", [RTM_DELRULE]: "RTM_DELRULE", [RTM_GETRULE]: "RTM_GETRULE",
  [RTM_NEWQDISC]: "RTM_NEWQDISC", [RTM_DELQDISC]: "RTM_DELQDISC", [RTM_GETQDISC]: "RTM_GETQDISC",
  [RTM_NEWTFILTER]: "RTM_NEWTFILTER", [RTM_DELTFILTER]: "RTM_DELTFILTER", [RTM_GETTFILTER]: "RTM_GETTFILTER",
};

// struct ifinfomsg, <linux/rtnetlink.h>: 16 bytes (u8 family, u8 pad, u16 type, i32 index, u32 flags, u32 change)
export const IFINFOMSG_LEN = 16;
// struct ifaddrmsg, <linux/if_addr.h>: 8 bytes (u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index)
export const IFADDRMSG_LEN = 8;
// struct rtmsg, <linux/rtnetlink.h>: 12 bytes (u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags)
export const RTMSG_LEN = 12;

// enum IFLA_*, <linux/if_link.h>
export const IFLA_UNSPEC = 0;
export const IFLA_ADDRESS = 1;
export const IFLA_BROADCAST = 2;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_QDISC = 6;
export const IFLA_STATS = 7;
export const IFLA_MASTER = 10;
export const IFLA_TXQLEN = 13;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKMODE = 17;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_IFALIAS = 20;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;
export const IFLA_PROMISCUITY = 30;
export const IFLA_NUM_TX_QUEUES = 31;
export const IFLA_NUM_RX_QUEUES = 32;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_GROUP = 27;
export const IFLA_MIN_MTU = 50;
export const IFLA_MAX_MTU = 51;
export const IFLA_ALT_IFNAME = 53;
export const IFLA_PERM_ADDRESS = 54;

// enum IFLA_INFO_*, <linux/if_link.h>: inside IFLA_LINKINFO
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_XSTATS = 3;
export const IFLA_INFO_SLAVE_KIND = 4;
export const IFLA_INFO_SLAVE_DATA = 5;

// <linux/veth.h>: inside IFLA_INFO_DATA of kind "veth"
export const VETH_INFO_PEER = 1;

// RTEXT_FILTER_*, <linux/rtnetlink.h>: values of IFLA_EXT_MASK
export const RTEXT_FILTER_VF = 1 << 0;
export const RTEXT_FILTER_BRVLAN = 1 << 1;
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

// IFF_*, <linux/if.h>: ifi_flags
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_POINTOPOINT = 0x10;
export const IFF_RUNNING = 0x40;
export const IFF_NOARP = 0x80;
export const IFF_PROMISC = 0x100;
export const IFF_ALLMULTI = 0x200;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;

// IF_OPER_*, RFC 2863 via <linux/if.h>: IFLA_OPERSTATE
export const IF_OPER_UNKNOWN = 0;
export const IF_OPER_NOTPRESENT = 1;
export const IF_OPER_DOWN = 2;
export const IF_OPER_LOWERLAYERDOWN = 3;
export const IF_OPER_TESTING = 4;
export const IF_OPER_DORMANT = 5;
export const IF_OPER_UP = 6;

// enum IFA_*, <linux/if_addr.h>
export const IFA_UNSPEC = 0;
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_ANYCAST = 5;
export const IFA_CACHEINFO = 6;
export const IFA_MULTICAST = 7;
export const IFA_FLAGS = 8;
export const IFA_RT_PRIORITY = 9;
export const IFA_TARGET_NETNSID = 10;
export const IFA_PROTO = 11;

// IFA_F_*, <linux/if_addr.h>: ifa_flags (u8) and IFA_FLAGS (u32)
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_OPTIMISTIC = 0x04;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_HOMEADDRESS = 0x10;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_MANAGETEMPADDR = 0x100;
export const IFA_F_NOPREFIXROUTE = 0x200;

// enum rt_scope_t, <linux/rtnetlink.h>
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

// enum rtattr_type_t, <linux/rtnetlink.h>
export const RTA_UNSPEC = 0;
export const RTA_DST = 1;
export const RTA_SRC = 2;
export const RTA_IIF = 3;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_METRICS = 8;
export const RTA_MULTIPATH = 9;
export const RTA_FLOW = 11;
export const RTA_TABLE = 15;
export const RTA_MARK = 16;
export const RTA_VIA = 18;
export const RTA_PREF = 20;

// RTAX_*, <linux/rtnetlink.h>: inside RTA_METRICS
export const RTAX_MTU = 2;
export const RTAX_ADVMSS = 8;

// struct rtnexthop, <linux/rtnetlink.h>: 8 bytes (u16 len, u8 flags, u8 hops, i32 ifindex), then its attributes.
export const RTNH_LEN = 8;

// enum rt_class_t, <linux/rtnetlink.h>: rtm_table (and RTA_TABLE above 255)
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_COMPAT = 252;
export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

// RTPROT_*, <linux/rtnetlink.h>: rtm_protocol
export const RTPROT_UNSPEC = 0;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTPROT_STATIC = 4;

// RTN_*, <linux/rtnetlink.h>: rtm_type
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_ANYCAST = 4;
export const RTN_MULTICAST = 5;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTN_THROW = 9;

// struct fib_rule_hdr, <linux/fib_rules.h>: 12 bytes (u8 family, dst_len, src_len, tos, table, res1, res2, action;
// u32 flags)
export const FIB_RULE_HDR_LEN = 12;

// enum FRA_*, <linux/fib_rules.h>
export const FRA_DST = 1;
export const FRA_SRC = 2;
export const FRA_IIFNAME = 3;
export const FRA_PRIORITY = 6;
export const FRA_FWMARK = 10;
export const FRA_TABLE = 15;
export const FRA_FWMASK = 16;
export const FRA_OIFNAME = 17;

// enum FR_ACT_*, <linux/fib_rules.h>: fib_rule_hdr.action
export const FR_ACT_UNSPEC = 0;
export const FR_ACT_TO_TBL = 1;
export const FR_ACT_GOTO = 2;
export const FR_ACT_NOP = 3;
export const FR_ACT_BLACKHOLE = 6;
export const FR_ACT_UNREACHABLE = 7;
export const FR_ACT_PROHIBIT = 8;

// struct ndmsg, <linux/neighbour.h>: 12 bytes (u8 family, u8 pad1, u16 pad2, i32 ifindex, u16 state, u8 flags, u8 type)
export const NDMSG_LEN = 12;

// enum NDA_*, <linux/neighbour.h>
export const NDA_DST = 1;
export const NDA_LLADDR = 2;

// NUD_*, <linux/neighbour.h>: ndm_state bits
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;

// IFLA_BR_*, <linux/if_link.h>: inside IFLA_INFO_DATA of kind "bridge"
export const IFLA_BR_VLAN_FILTERING = 7;
export const IFLA_BR_VLAN_DEFAULT_PVID = 39;

// IFLA_MACVLAN_*, <linux/if_link.h>: inside IFLA_INFO_DATA of kinds "macvlan" and "macvtap"
export const IFLA_MACVLAN_MODE = 1;
export const IFLA_MACVLAN_BC_QUEUE_LEN = 7;

// enum macvlan_mode, <linux/if_link.h>: IFLA_MACVLAN_MODE
export const MACVLAN_MODE_PRIVATE = 1;
export const MACVLAN_MODE_VEPA = 2;
export const MACVLAN_MODE_BRIDGE = 4;
export const MACVLAN_MODE_PASSTHRU = 8;
export const MACVLAN_MODE_SOURCE = 16;

// IFLA_IPVLAN_*, <linux/if_link.h>: inside IFLA_INFO_DATA of kind "ipvlan"
export const IFLA_IPVLAN_MODE = 1;
export const IFLA_IPVLAN_FLAGS = 2;

// enum ipvlan_mode and IPVLAN_F_*, <linux/if_link.h>: IFLA_IPVLAN_MODE and IFLA_IPVLAN_FLAGS ("bridge" is no flag bit)
export const IPVLAN_MODE_L2 = 0;
export const IPVLAN_MODE_L3 = 1;
export const IPVLAN_MODE_L3S = 2;
export const IPVLAN_F_PRIVATE = 0x01;
export const IPVLAN_F_VEPA = 0x02;

// IFLA_VLAN_*, <linux/if_link.h>: inside IFLA_INFO_DATA of kind "vlan"
export const IFLA_VLAN_ID = 1;

// IFLA_VRF_*, <linux/if_link.h>: inside IFLA_INFO_DATA of kind "vrf"
export const IFLA_VRF_TABLE = 1;

// IFLA_TUN_*, <linux/if_link.h>: inside IFLA_INFO_DATA of kind "tun" (read only: the kernel creates tun/tap links
// through the TUNSETIFF ioctl, never through RTM_NEWLINK; see pkg/ip/tuntap.ts)
export const IFLA_TUN_OWNER = 1;
export const IFLA_TUN_GROUP = 2;
export const IFLA_TUN_TYPE = 3;
export const IFLA_TUN_PI = 4;
export const IFLA_TUN_VNET_HDR = 5;
export const IFLA_TUN_PERSIST = 6;
export const IFLA_TUN_MULTI_QUEUE = 7;
export const IFLA_TUN_NUM_QUEUES = 8;
export const IFLA_TUN_NUM_DISABLED_QUEUES = 9;

// IFF_* of <linux/if_tun.h>: TUNSETIFF's ifr_flags (u16); IFF_TUN and IFF_TAP are also IFLA_TUN_TYPE's values.
// Not the ifi_flags IFF_* above: the same prefix, another field.
export const IFF_TUN = 0x0001;
export const IFF_TAP = 0x0002;
export const IFF_NAPI = 0x0010;
export const IFF_NAPI_FRAGS = 0x0020;
export const IFF_NO_CARRIER = 0x0040;
export const IFF_NO_PI = 0x1000;
export const IFF_ONE_QUEUE = 0x2000;
export const IFF_VNET_HDR = 0x4000;
export const IFF_TUN_EXCL = 0x8000;
export const IFF_MULTI_QUEUE = 0x0100;
export const IFF_PERSIST = 0x0800;
