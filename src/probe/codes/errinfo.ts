/**
 * ERRINFO codes: the errorInfo field of the Set Error Info PDU, [MS-RDPBCGR] 2.2.5.1.1 (current revision), every
 * code it lists: protocol-independent 0x0–0x1A (including ERRINFO_SERVER_SHUTDOWN 0x19 and ERRINFO_SERVER_REBOOT
 * 0x1A, which FreeRDP and IronRDP lack), licensing 0x100–0x10A, Connection Broker 0x400–0x412, RDP-specific
 * 0x10C9–0x1136 and standard-security 0x1191–0x1195. Names as the spec spells them (ERRINFO_DISCONNECTED_BY_OTHERCONNECTION,
 * ERRINFO_BADSUPRESSOUTPUTPDU); FreeRDP's different spellings are kept as aliases. Meanings are our own words.
 */
import type { Stage } from '../types.js';
import { hex32, indexTable, type CodeEntry } from './entry.js';
import { mstscPairFor } from './mstsc.js';

export const ERRINFO_SECTION = 'MS-RDPBCGR 2.2.5.1.1';

function e(code: number, name: string, stage: Stage, meaning: string, causes: readonly string[], checks: readonly string[], aliases?: string[]): CodeEntry {
  const entry: CodeEntry = { table: 'errinfo', code, name, stage, meaning, causes, checks };
  const pair = mstscPairFor(code);
  if (pair) entry.mstsc = pair;
  if (aliases) entry.aliases = aliases;
  return entry;
}

const SESSION_LOGS = "check the server's TerminalServices-LocalSessionManager and System event logs at that time";
const DRIVER_CAUSES = ['a fault in the session display or graphics driver', 'a third-party display, GPU or screen-capture driver', 'an overloaded server at session start'];
const DRIVER_CHECKS = ["check the server's System and RemoteDesktopServices-RdpCoreTS logs", 'update or remove third-party display drivers; try without GPU acceleration', 'retry: a one-off startup failure often clears'];
const CRASH_CHECKS = ['check the Application log on the server for the crashed process', 'update or remove third-party credential providers and security software that hook logon'];
const LIC_SERVER = ['run RD Licensing Diagnoser on the session host', "check the 'Set the Remote Desktop licensing mode' and 'Use the specified Remote Desktop license servers' policies", 'check that the session host can reach its license server'];
const LIC_STORE = ["delete the client's stored license (HKLM\\SOFTWARE\\Microsoft\\MSLicensing on Windows) and connect once as administrator so it is rebuilt", 'try another client machine: if that works, the stored license is the likely cause'];
const CB_CAUSES = ['Connection Broker or collection configuration', 'the target host or virtual machine is offline, full or draining', 'the .rdp file or workspace points at the wrong collection'];
const CB_CHECKS = ["check the broker's TerminalServices-SessionBroker logs", 'check collection membership and the state of the target hosts or virtual machines', 'check loadbalanceinfo in the .rdp file'];
/** The client sent something the server could not parse or did not expect. */
const PDU_CAUSES = ['a client bug (often an old or unusual third-party client)', 'a proxy or middlebox altering the RDP stream', 'a client and server version mismatch'];
const PDU_CHECKS = ['try another client (a current mstsc or FreeRDP) to see whether the client is at fault', "check the server's RemoteDesktopServices-RdpCoreTS log", 'capture the connection to see the PDU the server rejected'];
/** Something in the GCC client data blocks of the MCS Connect-Initial. */
const GCC_CAUSES = ['client core, network or monitor data the server will not accept', 'a client bug or unusual monitor layout'];
const GCC_CHECKS = ['try a single monitor or a smaller desktop size', 'reduce the number of static virtual channels or redirections', ...PDU_CHECKS.slice(0, 1)];
/** The Client Info PDU (Info Packet and Extended Info Packet). */
const INFO_CAUSES = ['a truncated or malformed Client Info PDU from the client', 'a client bug'];
const INFO_CHECKS = ['update the client; try another client', 'capture the connection to see the Client Info PDU'];
const SEC_CAUSES = ['standard RDP security keys or state out of step between client and server', 'a middlebox altering encrypted traffic', 'a client bug in standard RDP security'];
const SEC_CHECKS = ['prefer TLS or NLA over standard RDP security (set the server Security Layer to SSL or Negotiate)', 'update the client'];
const GFX_CAUSES = ['the graphics mode, codec or colour depth the client asked for', 'a fault in the server graphics stack'];
const GFX_CHECKS = ['lower the colour depth or turn off the graphics pipeline / H.264 in the client', 'check the RemoteDesktopServices-RdpCoreTS log and graphics policies on the server'];

export const ERRINFO_CODES: readonly CodeEntry[] = [
  // Protocol-independent codes
  e(0x0000, 'ERRINFO_NONE', 'activation', 'The server reports no error; the code is to be ignored.', ['a placeholder value, not a failure'], ['look at what happened next in the connection'], ['ERRINFO_SUCCESS']),
  e(0x0001, 'ERRINFO_RPC_INITIATED_DISCONNECT', 'activation', 'An administrative tool running in another session on the server disconnected this session.', ['an administrator or a management script disconnected the session (Task Manager, tsdiscon, Server Manager)'], [SESSION_LOGS, 'the session is still there: reconnect to resume it']),
  e(0x0002, 'ERRINFO_RPC_INITIATED_LOGOFF', 'activation', 'An administrative tool running in another session on the server forced this session to log off.', ['an administrator or a maintenance script logged the session off'], [SESSION_LOGS]),
  e(0x0003, 'ERRINFO_IDLE_TIMEOUT', 'activation', "The session stayed idle longer than the server's idle session limit.", ['an idle session time limit from Group Policy, the RDS collection or the account'], ["check 'Set time limit for active but idle Remote Desktop Services sessions' (Session Time Limits)", "check the Sessions tab of the user's account"]),
  e(0x0004, 'ERRINFO_LOGON_TIMEOUT', 'activation', "The session reached the server's active session time limit.", ['an active session time limit from Group Policy, the RDS collection or the account'], ["check 'Set time limit for active Remote Desktop Services sessions' (Session Time Limits)"]),
  e(0x0005, 'ERRINFO_DISCONNECTED_BY_OTHERCONNECTION', 'activation', 'Another connection took over the session, so this connection was dropped.', ['the same user connected from another device', 'a single-session-per-user policy hands the session to the newest client'], ['look for another client using the same account', "check 'Restrict Remote Desktop Services users to a single Remote Desktop Services session'"], ['ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION']),
  e(0x0006, 'ERRINFO_OUT_OF_MEMORY', 'activation', 'The server ran out of memory.', ['memory exhaustion on the server', 'a leaking process or too many sessions'], ['check memory use and the System log on the server']),
  e(0x0007, 'ERRINFO_SERVER_DENIED_CONNECTION', 'activation', 'The server refused the connection after the security layer and authentication had passed.', [
    "the account may not log on remotely: not in Remote Desktop Users, or matched by 'Deny log on through Remote Desktop Services'",
    'remote connections turned off or the connection limit reached',
    'the session host is starting up, shutting down or draining',
  ], [
    "check the account's 'Allow log on through Remote Desktop Services' right and group membership",
    "check the server's TerminalServices-RemoteConnectionManager and LocalSessionManager logs at the time of the attempt",
    "check the connection limit ('Limit number of connections') and that the host accepts new connections",
  ]),
  e(0x0009, 'ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES', 'activation', 'The user lacks the access rights needed to connect to this server.', [
    'the account is not in Remote Desktop Users (or Administrators)',
    "'Allow log on through Remote Desktop Services' not granted, or a 'Deny' right matches",
    'permissions on the RDP-Tcp listener',
  ], ["add the account to Remote Desktop Users, or grant the logon right", "check 'Deny log on through Remote Desktop Services' for the account and its groups", 'with HYBRID_EX the same condition shows earlier as AUTHZ_ACCESS_DENIED (rdp-probe --delegate)']),
  e(0x000a, 'ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED', 'activation', 'The server wants credentials typed for this connection and will not take saved ones.', ["server policy 'Always prompt for password upon connection'", 'saved or single-sign-on credentials were used'], ['type the password when asked', "check 'Always prompt for password upon connection' (Remote Desktop Session Host > Security)"]),
  e(0x000b, 'ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER', 'activation', "An administrative tool running inside the user's own session disconnected it.", ['the user (or a script in the session) chose Disconnect'], ['nothing is broken: reconnect to resume the session'], ['ERRINFO_RPC_INITIATED_DISCONNECT_BY_USER']),
  e(0x000c, 'ERRINFO_LOGOFF_BY_USER', 'activation', 'The user logged off the session on the server.', ['the user signed out', 'a logoff script or an application logged the session off'], ['nothing to fix unless the logoff was unexpected: check logon scripts and the profile events']),
  e(0x000f, 'ERRINFO_CLOSE_STACK_ON_DRIVER_NOT_READY', 'activation', "The session's display driver did not report its status within the startup time allowed.", DRIVER_CAUSES, DRIVER_CHECKS),
  e(0x0010, 'ERRINFO_SERVER_DWM_CRASH', 'activation', 'The Desktop Window Manager process of the session ended unexpectedly.', ['a DWM fault, often from a graphics driver'], ['check the Application log for dwm.exe faults', ...DRIVER_CHECKS.slice(1)]),
  e(0x0011, 'ERRINFO_CLOSE_STACK_ON_DRIVER_FAILURE', 'activation', "The session's display driver could not complete its startup tasks.", DRIVER_CAUSES, DRIVER_CHECKS),
  e(0x0012, 'ERRINFO_CLOSE_STACK_ON_DRIVER_IFACE_FAILURE', 'activation', 'The display driver started, but the remoting stack could not use it.', DRIVER_CAUSES, DRIVER_CHECKS),
  e(0x0017, 'ERRINFO_SERVER_WINLOGON_CRASH', 'activation', 'The Winlogon process of the session ended unexpectedly.', ['a crash in Winlogon, a credential provider or a logon notification package'], CRASH_CHECKS),
  e(0x0018, 'ERRINFO_SERVER_CSRSS_CRASH', 'activation', 'The CSRSS process of the session ended unexpectedly.', ['a crash in the session client/server runtime process, often from injected third-party code'], CRASH_CHECKS),
  e(0x0019, 'ERRINFO_SERVER_SHUTDOWN', 'activation', 'The server is shutting down.', ['a planned or unplanned shutdown of the server'], ['wait for the server to come back', 'the System log (event 1074) says who shut it down']),
  e(0x001a, 'ERRINFO_SERVER_REBOOT', 'activation', 'The server is restarting.', ['a restart, for instance after updates'], ['wait for the restart to finish and connect again', 'the System log (event 1074) says who restarted it']),

  // Protocol-independent licensing codes
  e(0x0100, 'ERRINFO_LICENSE_INTERNAL', 'licensing', "The server's licensing component hit an internal error.", ['a fault in Remote Desktop licensing on the session host'], ["check the server's TerminalServices-Licensing and System logs", 'restart the Remote Desktop Licensing service on the license server']),
  e(0x0101, 'ERRINFO_LICENSE_NO_LICENSE_SERVER', 'licensing', 'No Remote Desktop license server could be found to issue a license.', ['no license server configured', 'the license server is unreachable or its service is stopped', 'the licensing grace period is over'], LIC_SERVER),
  e(0x0102, 'ERRINFO_LICENSE_NO_LICENSE', 'licensing', 'No Client Access Licenses are available for this server.', ['CALs used up, not activated, or of the wrong type (per user versus per device)'], ['check installed and available CALs in RD Licensing Manager', 'check that the licensing mode matches the CAL type', ...LIC_SERVER.slice(0, 1)]),
  e(0x0103, 'ERRINFO_LICENSE_BAD_CLIENT_MSG', 'licensing', 'The server received a licensing message from the client that it could not accept.', ['a damaged license stored on the client', 'a client licensing bug', 'a middlebox altering traffic'], LIC_STORE),
  e(0x0104, 'ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE', 'licensing', 'The license stored by the client has been modified: it does not match the client.', ['a stored license copied from another machine (cloned image)', 'the client hardware ID changed'], LIC_STORE),
  e(0x0105, 'ERRINFO_LICENSE_BAD_CLIENT_LICENSE', 'licensing', 'The license stored by the client is in an invalid format.', ['a damaged stored license on the client'], LIC_STORE),
  e(0x0106, 'ERRINFO_LICENSE_CANT_FINISH_PROTOCOL', 'licensing', 'Network problems cut the licensing exchange short.', ['the connection dropped or was reset during licensing', 'the session host could not reach the license server in time'], ['check the network path and retry', ...LIC_SERVER.slice(2)]),
  e(0x0107, 'ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL', 'licensing', 'The client ended the licensing exchange early.', ['the client gave up or failed during licensing'], ['update the client; check its logs', ...LIC_STORE.slice(0, 1)]),
  e(0x0108, 'ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION', 'licensing', 'A licensing message was encrypted incorrectly.', ['a client licensing bug', 'traffic altered in transit'], ['update the client', ...LIC_STORE.slice(0, 1)]),
  e(0x0109, 'ERRINFO_LICENSE_CANT_UPGRADE_LICENSE', 'licensing', 'The license stored by the client could not be upgraded or renewed.', ['the license server was not reachable when renewal was due', 'no CALs of the version needed', 'the client cannot write its license store'], [...LIC_SERVER, ...LIC_STORE.slice(0, 1)]),
  e(0x010a, 'ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS', 'licensing', 'The server is not licensed to accept remote connections.', ['RD Session Host installed without licensing, and the grace period has ended'], ['configure the licensing mode and a license server', 'for administration only, connect with mstsc /admin', ...LIC_SERVER.slice(0, 1)]),

  // Connection Broker codes
  e(0x0400, 'ERRINFO_CB_DESTINATION_NOT_FOUND', 'activation', 'The Connection Broker could not find the target endpoint.', CB_CAUSES, CB_CHECKS),
  e(0x0402, 'ERRINFO_CB_LOADING_DESTINATION', 'activation', 'The endpoint the client is being redirected to is disconnecting from the Connection Broker.', CB_CAUSES, CB_CHECKS),
  e(0x0404, 'ERRINFO_CB_REDIRECTING_TO_DESTINATION', 'activation', 'Redirecting the connection to the target endpoint failed.', [...CB_CAUSES, 'the client cannot reach the redirection target'], CB_CHECKS),
  e(0x0405, 'ERRINFO_CB_SESSION_ONLINE_VM_WAKE', 'activation', 'Waking the target virtual machine failed.', ['the virtual machine or its host is in trouble', ...CB_CAUSES.slice(0, 1)], CB_CHECKS),
  e(0x0406, 'ERRINFO_CB_SESSION_ONLINE_VM_BOOT', 'activation', 'Starting the target virtual machine failed.', ['the virtual machine or its host is in trouble', ...CB_CAUSES.slice(0, 1)], CB_CHECKS),
  e(0x0407, 'ERRINFO_CB_SESSION_ONLINE_VM_NO_DNS', 'activation', "The target virtual machine's IP address could not be determined.", ['the virtual machine has not registered in DNS', 'DNS problems on the broker'], ['check DNS registration of the virtual machine', ...CB_CHECKS]),
  e(0x0408, 'ERRINFO_CB_DESTINATION_POOL_NOT_FREE', 'activation', "No endpoint in the broker's pool is available.", ['every virtual machine or host in the pool is in use or offline'], ['add capacity to the pool or free sessions', ...CB_CHECKS]),
  e(0x0409, 'ERRINFO_CB_CONNECTION_CANCELLED', 'activation', 'Processing of the connection was cancelled.', ['the broker or an administrator cancelled the request'], CB_CHECKS),
  e(0x0410, 'ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS', 'activation', 'The routing settings in the X.224 Connection Request could not be validated.', ['a wrong or stale routing token / loadbalanceinfo in the .rdp file'], CB_CHECKS),
  e(0x0411, 'ERRINFO_CB_SESSION_ONLINE_VM_BOOT_TIMEOUT', 'activation', 'Starting the target virtual machine took too long.', ['a slow or overloaded virtualization host'], CB_CHECKS),
  e(0x0412, 'ERRINFO_CB_SESSION_ONLINE_VM_SESSMON_FAILED', 'activation', 'A session-monitoring error occurred while the target virtual machine was starting.', ['a fault in the virtual machine guest or its session monitoring'], CB_CHECKS),

  // RDP-specific codes
  e(0x10c9, 'ERRINFO_UNKNOWNPDUTYPE2', 'activation', 'The server met an unknown pduType2 in a Share Data Header.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_UNKNOWN_DATA_PDU_TYPE']),
  e(0x10ca, 'ERRINFO_UNKNOWNPDUTYPE', 'activation', 'The server met an unknown pduType in a Share Control Header.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_UNKNOWN_PDU_TYPE']),
  e(0x10cb, 'ERRINFO_DATAPDUSEQUENCE', 'activation', 'The server received a slow-path data PDU out of sequence.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_DATA_PDU_SEQUENCE']),
  e(0x10cd, 'ERRINFO_CONTROLPDUSEQUENCE', 'activation', 'The server received a Demand Active, Confirm Active, Deactivate All or Server Redirection PDU out of sequence.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_CONTROL_PDU_SEQUENCE']),
  e(0x10ce, 'ERRINFO_INVALIDCONTROLPDUACTION', 'activation', 'The server received a Control PDU with an invalid action.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_INVALID_CONTROL_PDU_ACTION']),
  e(0x10cf, 'ERRINFO_INVALIDINPUTPDUTYPE', 'activation', 'The server received an input event of an invalid type (slow-path messageType or fast-path eventCode).', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_INVALID_INPUT_PDU_TYPE']),
  e(0x10d0, 'ERRINFO_INVALIDINPUTPDUMOUSE', 'activation', 'The server received a mouse event with invalid pointer flags.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_INVALID_INPUT_PDU_MOUSE']),
  e(0x10d1, 'ERRINFO_INVALIDREFRESHRECTPDU', 'activation', 'The server received an invalid Refresh Rect PDU.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_INVALID_REFRESH_RECT_PDU']),
  e(0x10d2, 'ERRINFO_CREATEUSERDATAFAILED', 'mcs', 'The server could not build the user data of its GCC Conference Create Response.', ['a server-side fault answering the client data blocks', ...GCC_CAUSES], ["check the server's RemoteDesktopServices-RdpCoreTS and System logs", ...GCC_CHECKS], ['ERRINFO_CREATE_USER_DATA_FAILED']),
  e(0x10d3, 'ERRINFO_CONNECTFAILED', 'mcs', 'Processing failed during the channel connection phase (MCS erect domain, attach user, channel joins).', ['a failed or refused channel join', 'a client and server disagreement on channels'], ['check the mcs stage with rdp-probe', ...GCC_CHECKS], ['ERRINFO_CONNECT_FAILED']),
  e(0x10d4, 'ERRINFO_CONFIRMACTIVEWRONGSHAREID', 'activation', 'The Confirm Active PDU from the client carried a wrong shareID.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_SHAREID']),
  e(0x10d5, 'ERRINFO_CONFIRMACTIVEWRONGORIGINATOR', 'activation', 'The Confirm Active PDU from the client carried a wrong originatorID.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_CONFIRM_ACTIVE_HAS_WRONG_ORIGINATOR']),
  e(0x10da, 'ERRINFO_PERSISTENTKEYPDUBADLENGTH', 'activation', 'A Persistent Key List PDU was too short to process.', PDU_CAUSES, ['turn off persistent bitmap caching in the client', ...PDU_CHECKS], ['ERRINFO_PERSISTENT_KEY_PDU_BAD_LENGTH']),
  e(0x10db, 'ERRINFO_PERSISTENTKEYPDUILLEGALFIRST', 'activation', 'A second Persistent Key List PDU was marked as the first one.', PDU_CAUSES, ['turn off persistent bitmap caching in the client', ...PDU_CHECKS], ['ERRINFO_PERSISTENT_KEY_PDU_ILLEGAL_FIRST']),
  e(0x10dc, 'ERRINFO_PERSISTENTKEYPDUTOOMANYTOTALKEYS', 'activation', 'A Persistent Key List PDU announced more than 262,144 bitmap cache entries in total.', PDU_CAUSES, ['turn off persistent bitmap caching in the client', ...PDU_CHECKS], ['ERRINFO_PERSISTENT_KEY_PDU_TOO_MANY_TOTAL_KEYS']),
  e(0x10dd, 'ERRINFO_PERSISTENTKEYPDUTOOMANYCACHEKEYS', 'activation', 'A Persistent Key List PDU announced more keys for a bitmap cache than the client said it holds.', PDU_CAUSES, ['turn off persistent bitmap caching in the client', ...PDU_CHECKS], ['ERRINFO_PERSISTENT_KEY_PDU_TOO_MANY_CACHE_KEYS']),
  e(0x10de, 'ERRINFO_INPUTPDUBADLENGTH', 'activation', 'An input event PDU (slow-path or fast-path) was too short to process.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_INPUT_PDU_BAD_LENGTH']),
  e(0x10df, 'ERRINFO_BITMAPCACHEERRORPDUBADLENGTH', 'activation', 'A Bitmap Cache Error PDU was too short to process.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_BITMAP_CACHE_ERROR_PDU_BAD_LENGTH']),
  e(0x10e0, 'ERRINFO_SECURITYDATATOOSHORT', 'activation', 'A fast-path input PDU was too short to hold its signature (and FIPS information).', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT']),
  e(0x10e1, 'ERRINFO_VCHANNELDATATOOSHORT', 'mcs', 'Virtual channel data was too short: in the Client Network Data, or a channel PDU header.', [...GCC_CAUSES, ...PDU_CAUSES.slice(0, 1)], GCC_CHECKS, ['ERRINFO_VCHANNEL_DATA_TOO_SHORT']),
  e(0x10e2, 'ERRINFO_SHAREDATATOOSHORT', 'activation', 'A Control, Font List, Share Control Header or Share Data Header was too short to process.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_SHARE_DATA_TOO_SHORT']),
  e(0x10e3, 'ERRINFO_BADSUPRESSOUTPUTPDU', 'activation', 'A Suppress Output PDU was too short or had an invalid allowDisplayUpdates value.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_BAD_SUPPRESS_OUTPUT_PDU']),
  e(0x10e5, 'ERRINFO_CONFIRMACTIVEPDUTOOSHORT', 'activation', 'The Confirm Active PDU was too short to read its fields.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_CONFIRM_ACTIVE_PDU_TOO_SHORT']),
  e(0x10e7, 'ERRINFO_CAPABILITYSETTOOSMALL', 'activation', 'A capability set was too short to read its type and length.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_CAPABILITY_SET_TOO_SMALL']),
  e(0x10e8, 'ERRINFO_CAPABILITYSETTOOLARGE', 'activation', 'A capability set claimed a length larger than the data received.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_CAPABILITY_SET_TOO_LARGE']),
  e(0x10e9, 'ERRINFO_NOCURSORCACHE', 'activation', 'The Pointer Capability Set asked for no pointer cache at all.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_NO_CURSOR_CACHE']),
  e(0x10ea, 'ERRINFO_BADCAPABILITIES', 'activation', 'The server did not accept the capabilities in the Confirm Active PDU.', ['the client announced capabilities the server will not work with', ...PDU_CAUSES.slice(0, 1)], ['try other client graphics settings (colour depth, codecs)', ...PDU_CHECKS], ['ERRINFO_BAD_CAPABILITIES']),
  e(0x10ec, 'ERRINFO_VIRTUALCHANNELDECOMPRESSIONERR', 'activation', 'Decompressing a virtual channel PDU with the bulk compressor failed.', PDU_CAUSES, ['turn off compression in the client', ...PDU_CHECKS], ['ERRINFO_VIRTUAL_CHANNEL_DECOMPRESSION']),
  e(0x10ed, 'ERRINFO_INVALIDVCCOMPRESSIONTYPE', 'activation', 'A channel PDU header named an invalid bulk compression type.', PDU_CAUSES, ['turn off compression in the client', ...PDU_CHECKS], ['ERRINFO_INVALID_VC_COMPRESSION_TYPE']),
  e(0x10ef, 'ERRINFO_INVALIDCHANNELID', 'activation', 'A virtual channel PDU named an invalid MCS channel ID.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_INVALID_CHANNEL_ID']),
  e(0x10f0, 'ERRINFO_VCHANNELSTOOMANY', 'mcs', 'The client asked for more than the 31 static virtual channels allowed.', ['too many redirections or channel plugins enabled in the client'], ['turn off some redirections (drives, printers, smart cards, clipboard) or channel plugins'], ['ERRINFO_VCHANNELS_TOO_MANY']),
  e(0x10f3, 'ERRINFO_REMOTEAPPSNOTENABLED', 'licensing', 'The server only hosts RemoteApp programs, but the client did not set INFO_RAIL in the Client Info PDU.', ['a full-desktop connection to a host or collection published for RemoteApp only'], ['connect through the RemoteApp feed or an .rdp file with remoteapplicationmode:i:1', 'or publish a full desktop'], ['ERRINFO_REMOTEAPP_NOT_ENABLED']),
  e(0x10f4, 'ERRINFO_CACHECAPNOTSET', 'activation', 'The client sent a Persistent Key List PDU without the Revision 2 Bitmap Cache capability set.', PDU_CAUSES, ['turn off persistent bitmap caching in the client', ...PDU_CHECKS], ['ERRINFO_CACHE_CAP_NOT_SET']),
  e(0x10f5, 'ERRINFO_BITMAPCACHEERRORPDUBADLENGTH2', 'activation', 'The Bitmap Cache Error PDU count of info blocks does not match its data.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_BITMAP_CACHE_ERROR_PDU_BAD_LENGTH2']),
  e(0x10f6, 'ERRINFO_OFFSCRCACHEERRORPDUBADLENGTH', 'activation', 'An Offscreen Bitmap Cache Error PDU was too short to process.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_OFFSCREEN_CACHE_ERROR_PDU_BAD_LENGTH']),
  e(0x10f7, 'ERRINFO_DNGCACHEERRORPDUBADLENGTH', 'activation', 'A DrawNineGrid Cache Error PDU was too short to process.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_DRAWNINEGRID_CACHE_ERROR_PDU_BAD_LENGTH']),
  e(0x10f8, 'ERRINFO_GDIPLUSPDUBADLENGTH', 'activation', 'A GDI+ Error PDU was too short to process.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_GDIPLUS_PDU_BAD_LENGTH']),
  e(0x1111, 'ERRINFO_SECURITYDATATOOSHORT2', 'security', 'A Basic Security Header was too short to read.', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT2']),
  e(0x1112, 'ERRINFO_SECURITYDATATOOSHORT3', 'security', 'A Non-FIPS or FIPS Security Header was too short to read.', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT3']),
  e(0x1113, 'ERRINFO_SECURITYDATATOOSHORT4', 'security', 'The Security Exchange PDU was too short to read its header and length.', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT4']),
  e(0x1114, 'ERRINFO_SECURITYDATATOOSHORT5', 'licensing', 'The Info Packet of the Client Info PDU was too short for its variable fields (domain, user, password, shell, directory).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT5']),
  e(0x1115, 'ERRINFO_SECURITYDATATOOSHORT6', 'licensing', 'The Info Packet of the Client Info PDU was too short for its fixed fields (code page, flags, lengths).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT6']),
  e(0x1116, 'ERRINFO_SECURITYDATATOOSHORT7', 'licensing', 'The Extended Info Packet was too short for clientAddressFamily and cbClientAddress.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT7']),
  e(0x1117, 'ERRINFO_SECURITYDATATOOSHORT8', 'licensing', 'The Extended Info Packet was too short for clientAddress.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT8']),
  e(0x1118, 'ERRINFO_SECURITYDATATOOSHORT9', 'licensing', 'The Extended Info Packet was too short for cbClientDir.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT9']),
  e(0x1119, 'ERRINFO_SECURITYDATATOOSHORT10', 'licensing', 'The Extended Info Packet was too short for clientDir.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT10']),
  e(0x111a, 'ERRINFO_SECURITYDATATOOSHORT11', 'licensing', 'The Extended Info Packet was too short for clientTimeZone.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT11']),
  e(0x111b, 'ERRINFO_SECURITYDATATOOSHORT12', 'licensing', 'The Extended Info Packet was too short for clientSessionId.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT12']),
  e(0x111c, 'ERRINFO_SECURITYDATATOOSHORT13', 'licensing', 'The Extended Info Packet was too short for performanceFlags.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT13']),
  e(0x111d, 'ERRINFO_SECURITYDATATOOSHORT14', 'licensing', 'The Extended Info Packet was too short for cbAutoReconnectCookie.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT14']),
  e(0x111e, 'ERRINFO_SECURITYDATATOOSHORT15', 'licensing', 'The Extended Info Packet was too short for autoReconnectCookie.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT15']),
  e(0x111f, 'ERRINFO_SECURITYDATATOOSHORT16', 'licensing', 'The Extended Info Packet gave an auto-reconnect cookie longer than the 128 bytes allowed.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT16']),
  e(0x1120, 'ERRINFO_SECURITYDATATOOSHORT17', 'licensing', 'The Extended Info Packet was too short for clientAddressFamily and cbClientAddress (second check).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT17']),
  e(0x1121, 'ERRINFO_SECURITYDATATOOSHORT18', 'licensing', 'The Extended Info Packet was too short for clientAddress (second check).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT18']),
  e(0x1122, 'ERRINFO_SECURITYDATATOOSHORT19', 'licensing', 'The Extended Info Packet was too short for cbClientDir (second check).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT19']),
  e(0x1123, 'ERRINFO_SECURITYDATATOOSHORT20', 'licensing', 'The Extended Info Packet was too short for clientDir (second check).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT20']),
  e(0x1124, 'ERRINFO_SECURITYDATATOOSHORT21', 'licensing', 'The Extended Info Packet was too short for clientTimeZone (second check).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT21']),
  e(0x1125, 'ERRINFO_SECURITYDATATOOSHORT22', 'licensing', 'The Extended Info Packet was too short for clientSessionId (second check).', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT22']),
  e(0x1126, 'ERRINFO_SECURITYDATATOOSHORT23', 'licensing', 'The Client Info PDU data was too short to process.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_SECURITY_DATA_TOO_SHORT23']),
  e(0x1129, 'ERRINFO_BADMONITORDATA', 'mcs', 'The Client Monitor Data held fewer monitor definitions than its monitorCount says.', GCC_CAUSES, GCC_CHECKS, ['ERRINFO_BAD_MONITOR_DATA']),
  e(0x112a, 'ERRINFO_VCDECOMPRESSEDREASSEMBLEFAILED', 'activation', 'Reassembling decompressed virtual channel data failed: bad buffer, or larger than the channel chunk size.', PDU_CAUSES, ['turn off compression in the client', ...PDU_CHECKS], ['ERRINFO_VC_DECOMPRESSED_REASSEMBLE_FAILED']),
  e(0x112b, 'ERRINFO_VCDATATOOLONG', 'activation', 'A virtual channel PDU was larger than the chunk size in the Virtual Channel Capability Set.', PDU_CAUSES, PDU_CHECKS, ['ERRINFO_VC_DATA_TOO_LONG']),
  e(0x112c, 'ERRINFO_BAD_FRAME_ACK_DATA', 'activation', 'A Frame Acknowledge PDU was too short to read.', PDU_CAUSES, PDU_CHECKS),
  e(0x112d, 'ERRINFO_GRAPHICSMODENOTSUPPORTED', 'activation', 'The server does not support the graphics mode the client asked for.', GFX_CAUSES, GFX_CHECKS, ['ERRINFO_GRAPHICS_MODE_NOT_SUPPORTED']),
  e(0x112e, 'ERRINFO_GRAPHICSSUBSYSTEMRESETFAILED', 'activation', 'Resetting the server graphics subsystem failed.', GFX_CAUSES, GFX_CHECKS, ['ERRINFO_GRAPHICS_SUBSYSTEM_RESET_FAILED']),
  e(0x112f, 'ERRINFO_GRAPHICSSUBSYSTEMFAILED', 'activation', 'The server graphics subsystem is in an error state and cannot go on encoding.', GFX_CAUSES, GFX_CHECKS, ['ERRINFO_GRAPHICS_SUBSYSTEM_FAILED']),
  e(0x1130, 'ERRINFO_TIMEZONEKEYNAMELENGTHTOOSHORT', 'licensing', 'The Extended Info Packet was too short for cbDynamicDSTTimeZoneKeyName.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_TIMEZONE_KEY_NAME_LENGTH_TOO_SHORT']),
  e(0x1131, 'ERRINFO_TIMEZONEKEYNAMELENGTHTOOLONG', 'licensing', 'The Extended Info Packet gave a dynamic time zone key name that is too long.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_TIMEZONE_KEY_NAME_LENGTH_TOO_LONG']),
  e(0x1132, 'ERRINFO_DYNAMICDSTDISABLEDFIELDMISSING', 'licensing', 'The Extended Info Packet lacks the dynamicDaylightTimeDisabled field.', INFO_CAUSES, INFO_CHECKS, ['ERRINFO_DYNAMIC_DST_DISABLED_FIELD_MISSING']),
  e(0x1133, 'ERRINFO_VCDECODINGERROR', 'activation', 'Processing dynamic virtual channel data failed.', [...PDU_CAUSES, 'a faulty dynamic channel plugin'], ['turn off dynamic channel features (graphics pipeline, audio input, device redirection) one at a time', ...PDU_CHECKS], ['ERRINFO_VC_DECODING_ERROR']),
  e(0x1134, 'ERRINFO_VIRTUALDESKTOPTOOLARGE', 'mcs', 'The virtual desktop described by the Client Monitor Data is wider or taller than 32,766 pixels.', ['a very large multi-monitor layout'], GCC_CHECKS),
  e(0x1135, 'ERRINFO_MONITORGEOMETRYVALIDATIONFAILED', 'mcs', 'The monitor layout in the Client Monitor Data is not valid.', ['overlapping or disjoint monitors, or no primary monitor at the origin'], GCC_CHECKS),
  e(0x1136, 'ERRINFO_INVALIDMONITORCOUNT', 'mcs', 'The Client Monitor Data announced too many monitors.', ['more monitors than the server allows (policy or protocol limit)'], ['use fewer monitors, or raise the server limit (Limit maximum number of monitors)', ...GCC_CHECKS]),

  // Standard RDP security codes
  e(0x1191, 'ERRINFO_UPDATESESSIONKEYFAILED', 'security', 'Updating the standard RDP security session keys failed.', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_UPDATE_SESSION_KEY_FAILED']),
  e(0x1192, 'ERRINFO_DECRYPTFAILED', 'security', 'Decryption, or creating the session keys, with standard RDP security failed.', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_DECRYPT_FAILED']),
  e(0x1193, 'ERRINFO_ENCRYPTFAILED', 'security', 'Encryption with standard RDP security failed.', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_ENCRYPT_FAILED']),
  e(0x1194, 'ERRINFO_ENCPKGMISMATCH', 'mcs', "No usable encryption method was found among those in the client's security data.", ['the client offers no method the server accepts (e.g. FIPS required by the server, or 40/56-bit only)', 'FIPS policy on one side only'], ['compare the server encryption level and FIPS policy with what the client offers (rdp-probe --enumerate lists the accepted methods)', 'prefer TLS or NLA'], ['ERRINFO_ENCRYPTION_PACKAGE_MISMATCH']),
  e(0x1195, 'ERRINFO_DECRYPTFAILED2', 'security', 'Unencrypted data arrived in a stream that standard RDP security should encrypt.', SEC_CAUSES, SEC_CHECKS, ['ERRINFO_DECRYPT_FAILED2']),
];

const INDEX = indexTable(ERRINFO_CODES);

export function errinfoEntry(code: number): CodeEntry | undefined {
  return INDEX.byCode.get(code >>> 0);
}

/** Spec name, or 'unknown (0x…)' so a report can always print something. */
export function errinfoName(code: number): string {
  return errinfoEntry(code)?.name ?? `unknown (${hex32(code)})`;
}
