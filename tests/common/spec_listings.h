#pragma once
// The example blocks of spec §4.6 (acceptance case 28), byte for byte (trailing spaces
// included), and the §4.7 save text of the default-listing configuration. One copy shared by
// the unit tests (tests/unit/ctl/listing_test.cc) and the binary tests
// (tests/integration/ctl/injected_golden_test.cc).

#include <string_view>

namespace lvs::testing::spec {

// §4.7: `-S -n` of the configuration the default listing shows.
inline constexpr std::string_view kSavedDefaultConfig =
    "-A -t 192.168.1.100:80 -s wlc\n"
    "-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m -w 1\n"
    "-a -t 192.168.1.100:80 -r 10.0.0.12:8080 -m -w 2\n"
    "-A -t 192.168.1.100:443 -s rr -p 360 -M 255.255.255.0\n"
    "-a -t 192.168.1.100:443 -r 10.0.0.11:443 -g -w 1\n"
    "-A -u 192.168.1.100:53 -s sh -o -b sh-fallback,sh-port\n"
    "-a -u 192.168.1.100:53 -r 10.0.0.21:53 -i -w 5 --tun-type ipip\n"
    "-A -f 7 -s wrr\n"
    "-a -f 7 -r 10.0.0.41:0 -g -w 1\n";

// -L -n (10.0.0.11:80 has 3 active and 12 inactive, 10.0.0.21:53 17 inactive).
inline constexpr std::string_view kDefaultBlock =
    R"(IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.1.100:80 wlc
  -> 10.0.0.11:80                 Masq    1      3          12        
  -> 10.0.0.12:8080               Masq    2      0          0         
TCP  192.168.1.100:443 rr persistent 360 mask 255.255.255.0
  -> 10.0.0.11:443                Route   1      0          0         
UDP  192.168.1.100:53 sh (sh-fallback,sh-port) ops
  -> 10.0.0.21:53                 Tunnel  5      0          17        
FWM  7 wrr
  -> 10.0.0.41:0                  Route   1      0          0         
)";

// -L -n --stats (service 1523/98211/87640/123456789/9876543210, its realserver
// 800/50000/45000/61728394/4938271605).
inline constexpr std::string_view kStatsBlock =
    R"(IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.168.1.100:80                 1523    98211    87640  123456K    9876M
  -> 10.0.0.11:80                      800    50000    45000 61728394    4938M
)";

// -L -n --stats --exact: the block shows the service line only.
inline constexpr std::string_view kStatsExactServiceLine =
    "TCP  192.168.1.100:80                 1523    98211    87640 123456789 9876543210\n";

// -L -n --rate (service 12/340/310/45210/390112, realserver 6/170/155/22605/195056).
inline constexpr std::string_view kRateBlock =
    R"(IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  192.168.1.100:80                   12      340      310    45210   390112
  -> 10.0.0.11:80                        6      170      155    22605   195056
)";

// -L -n --thresholds (-x 100 -y 50, 3 active, 12 inactive).
inline constexpr std::string_view kThresholdsBlock =
    R"(IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  192.168.1.100:80 wlc
  -> 10.0.0.11:80                 100        50         3          12        
)";

// -L -n --persistent-conn (-p, 4 templates, 3 active, 12 inactive).
inline constexpr std::string_view kPersistentConnBlock =
    R"(IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  192.168.1.100:80 wlc persistent 360
  -> 10.0.0.11:80                 1         4           3          12        
)";

// -L -n --tun-info (a GUE tunnel on port 6080 without checksums, and a Route realserver).
inline constexpr std::string_view kTunInfoBlock =
    R"(IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn
TCP  192.168.1.100:80 rr
  -> 10.0.0.31:80                 Tunnel  gue:6080:-c   1      0          0         
  -> 10.0.0.32:80                 Route   n/a           1      0          0         
)";

// -L -n -c (the default-listing configuration with FWM 7 persistent).
inline constexpr std::string_view kConnectionBlock =
    R"(IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:57  ESTABLISHED 203.0.113.7:51514  192.168.1.100:80   10.0.0.11:80
TCP 00:54  SYN_RECV    203.0.113.8:40000  192.168.1.100:80   10.0.0.12:8080
UDP 04:59  UDP         203.0.113.9:5353   192.168.1.100:53   10.0.0.21:53
TCP 05:58  NONE        203.0.113.0:0      192.168.1.100:443  10.0.0.11:443
IP  05:58  NONE        203.0.113.7:0      0.0.0.7:0          10.0.0.41:0
)";

}  // namespace lvs::testing::spec
