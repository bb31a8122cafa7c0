# SPDX-License-Identifier: GPL-3.0-or-later
# Runs at install time (packaging/CMakeLists.txt), when the prefix is known:
# `cmake --install` under its prefix (or --prefix), or cpack under /usr.
# Places the example configuration and the systemd unit, whose ExecStart
# names the installed binary. DESTDIR is honoured by file(INSTALL).
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")

# GNUInstallDirs' rule: a /usr (or /) prefix keeps its configuration in /etc.
if(IS_ABSOLUTE "${NIMBUS_SYSCONFDIR}")
  set(sysconfdir "${NIMBUS_SYSCONFDIR}")
elseif(prefix STREQUAL "/usr" OR prefix STREQUAL "")
  set(sysconfdir "/etc")
else()
  set(sysconfdir "${prefix}/${NIMBUS_SYSCONFDIR}")
endif()

if(NIMBUS_UNIT_DIR)
  set(unitdir "${NIMBUS_UNIT_DIR}")
elseif(prefix STREQUAL "/usr" OR prefix STREQUAL "")
  set(unitdir "${NIMBUS_USR_UNIT_DIR}")
else()
  set(unitdir "${prefix}/lib/systemd/system")
endif()

if(IS_ABSOLUTE "${NIMBUS_BINDIR}")
  set(NIMBUS_EXEC "${NIMBUS_BINDIR}/nimbus")
else()
  set(NIMBUS_EXEC "${prefix}/${NIMBUS_BINDIR}/nimbus")
endif()
configure_file("${NIMBUS_SOURCE_DIR}/nimbus.service.in"
               "${NIMBUS_BINARY_DIR}/install/nimbus.service" @ONLY)

file(INSTALL DESTINATION "${sysconfdir}/nimbus" TYPE FILE
     FILES "${NIMBUS_SOURCE_DIR}/nimbus.conf")
file(INSTALL DESTINATION "${unitdir}" TYPE FILE
     FILES "${NIMBUS_BINARY_DIR}/install/nimbus.service")
