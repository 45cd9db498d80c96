/** [T.125] names shared by the connect and domain PDUs. */

/** [T.125] 7 Result. */
export const MCS_RESULTS = [
  'rt-successful',
  'rt-domain-merging',
  'rt-domain-not-hierarchical',
  'rt-no-such-channel',
  'rt-no-such-domain',
  'rt-no-such-user',
  'rt-not-admitted',
  'rt-other-user-id',
  'rt-parameters-unacceptable',
  'rt-token-not-available',
  'rt-token-not-possessed',
  'rt-too-many-channels',
  'rt-too-many-tokens',
  'rt-too-many-users',
  'rt-unspecified-failure',
  'rt-user-rejected',
] as const;

export function mcsResultName(result: number): string {
  return MCS_RESULTS[result] ?? `unknown (${result})`;
}

/** [T.125] 7 Reason (Disconnect-Provider-Ultimatum). */
export const MCS_REASONS = [
  'rn-domain-disconnected',
  'rn-provider-initiated',
  'rn-token-purged',
  'rn-user-requested',
  'rn-channel-purged',
] as const;

export function mcsReasonName(reason: number): string {
  return MCS_REASONS[reason] ?? `unknown (${reason})`;
}

/** [T.125] DomainMCSPDU CHOICE alternatives, by index (the top 6 bits of the first octet). */
export const DOMAIN_MCSPDU_NAMES = [
  'plumbDomainIndication',
  'erectDomainRequest',
  'mergeChannelsRequest',
  'mergeChannelsConfirm',
  'purgeChannelsIndication',
  'mergeTokensRequest',
  'mergeTokensConfirm',
  'purgeTokensIndication',
  'disconnectProviderUltimatum',
  'rejectMCSPDUUltimatum',
  'attachUserRequest',
  'attachUserConfirm',
  'detachUserRequest',
  'detachUserIndication',
  'channelJoinRequest',
  'channelJoinConfirm',
  'channelLeaveRequest',
  'channelConveneRequest',
  'channelConveneConfirm',
  'channelDisbandRequest',
  'channelDisbandIndication',
  'channelAdmitRequest',
  'channelAdmitIndication',
  'channelExpelRequest',
  'channelExpelIndication',
  'sendDataRequest',
  'sendDataIndication',
  'uniformSendDataRequest',
  'uniformSendDataIndication',
  'tokenGrabRequest',
  'tokenGrabConfirm',
  'tokenInhibitRequest',
  'tokenInhibitConfirm',
  'tokenGiveRequest',
  'tokenGiveIndication',
  'tokenGiveResponse',
  'tokenGiveConfirm',
  'tokenPleaseRequest',
  'tokenPleaseIndication',
  'tokenReleaseRequest',
  'tokenReleaseConfirm',
  'tokenTestRequest',
  'tokenTestConfirm',
] as const;

export const DomainMcsPdu = {
  ERECT_DOMAIN_REQUEST: 1,
  DISCONNECT_PROVIDER_ULTIMATUM: 8,
  ATTACH_USER_REQUEST: 10,
  ATTACH_USER_CONFIRM: 11,
  CHANNEL_JOIN_REQUEST: 14,
  CHANNEL_JOIN_CONFIRM: 15,
  SEND_DATA_REQUEST: 25,
  SEND_DATA_INDICATION: 26,
} as const;

/** [T.125] UserId ::= DynamicChannelId (1001..65535): PER carries value - 1001. */
export const MCS_BASE_CHANNEL_ID = 1001;
/** The MCS I/O channel RDP servers announce in SC_NET (MCSChannelId). */
export const MCS_GLOBAL_CHANNEL_ID = 1003;

/** [T.125] DataPriority. */
export const MCS_PRIORITIES = ['top', 'high', 'medium', 'low'] as const;
export type McsPriority = (typeof MCS_PRIORITIES)[number];
