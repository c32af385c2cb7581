// SPDX-License-Identifier: GPL-2.0
/*
 * Job events on the "dm-blockjob" generic netlink family. Events name
 * devices and show their activity, so only CAP_SYS_ADMIN may join the
 * multicast group (the same privilege the dm ioctls take). The family takes
 * no requests yet; its policy still covers every attribute so that any
 * command added later is validated strictly.
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <uapi/linux/dm-blockjob.h>

#include "bj-netlink.h"

static const struct nla_policy bj_nl_policy[DM_BLOCKJOB_ATTR_MAX + 1] = {
	[DM_BLOCKJOB_ATTR_EVENT] = { .type = NLA_U32 },
	[DM_BLOCKJOB_ATTR_DEVICE] = { .type = NLA_NUL_STRING, .len = 128 },
	[DM_BLOCKJOB_ATTR_DEV] = { .type = NLA_U32 },
	[DM_BLOCKJOB_ATTR_TYPE] = { .type = NLA_U32 },
	[DM_BLOCKJOB_ATTR_STATE] = { .type = NLA_U32 },
	[DM_BLOCKJOB_ATTR_LEN] = { .type = NLA_U64 },
	[DM_BLOCKJOB_ATTR_OFFSET] = { .type = NLA_U64 },
	[DM_BLOCKJOB_ATTR_SPEED] = { .type = NLA_U64 },
	[DM_BLOCKJOB_ATTR_ERROR] = { .type = NLA_S32 },
	[DM_BLOCKJOB_ATTR_ERROR_MSG] = { .type = NLA_NUL_STRING, .len = 64 },
	[DM_BLOCKJOB_ATTR_PAD] = { .type = NLA_UNSPEC },
};

static const struct genl_multicast_group bj_nl_mcgrps[] = {
	{ .name = DM_BLOCKJOB_GENL_MCGRP, .flags = GENL_MCAST_CAP_SYS_ADMIN },
};

static struct genl_family bj_nl_family __ro_after_init = {
	.name = DM_BLOCKJOB_GENL_NAME,
	.version = DM_BLOCKJOB_GENL_VERSION,
	.maxattr = DM_BLOCKJOB_ATTR_MAX,
	.policy = bj_nl_policy,
	.module = THIS_MODULE,
	.mcgrps = bj_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(bj_nl_mcgrps),
	.netnsok = false,
};

void bj_netlink_send(const struct bj_event_info *e)
{
	struct sk_buff *skb;
	void *hdr;

	if (!genl_has_listeners(&bj_nl_family, &init_net, 0))
		return;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &bj_nl_family, 0, DM_BLOCKJOB_CMD_EVENT);
	if (!hdr)
		goto fail;
	if (nla_put_u32(skb, DM_BLOCKJOB_ATTR_EVENT, e->event) ||
	    nla_put_string(skb, DM_BLOCKJOB_ATTR_DEVICE, e->device) ||
	    nla_put_u32(skb, DM_BLOCKJOB_ATTR_DEV, e->dev) ||
	    nla_put_u32(skb, DM_BLOCKJOB_ATTR_TYPE, e->type) ||
	    nla_put_u32(skb, DM_BLOCKJOB_ATTR_STATE, e->state) ||
	    nla_put_u64_64bit(skb, DM_BLOCKJOB_ATTR_LEN, e->len, DM_BLOCKJOB_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, DM_BLOCKJOB_ATTR_OFFSET, e->offset, DM_BLOCKJOB_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, DM_BLOCKJOB_ATTR_SPEED, e->speed, DM_BLOCKJOB_ATTR_PAD))
		goto fail;
	if (e->error && nla_put_s32(skb, DM_BLOCKJOB_ATTR_ERROR, e->error))
		goto fail;
	if (e->error_msg && nla_put_string(skb, DM_BLOCKJOB_ATTR_ERROR_MSG, e->error_msg))
		goto fail;
	genlmsg_end(skb, hdr);
	genlmsg_multicast(&bj_nl_family, skb, 0, 0, GFP_KERNEL);
	return;
fail:
	nlmsg_free(skb);
}

int bj_netlink_init(void)
{
	return genl_register_family(&bj_nl_family);
}

void bj_netlink_exit(void)
{
	genl_unregister_family(&bj_nl_family);
}

MODULE_ALIAS_GENL_FAMILY(DM_BLOCKJOB_GENL_NAME);
