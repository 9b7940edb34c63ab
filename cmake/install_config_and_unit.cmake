# install_config_and_unit.cmake — run by `cmake --install` (install(SCRIPT) in CMakeLists.txt).
#
# Installs the example configuration and the systemd unit with the paths of the prefix given at
# install time (`cmake --install build --prefix P` replaces the configured one), so that one
# build can stage a package (DESTDIR=stage, --prefix /usr) or install under /usr/local or /opt.
# Configuration: /etc/referent when the prefix is /usr (GNUInstallDirs' rule: no /usr/etc),
# PREFIX/etc/referent otherwise, or an absolute CMAKE_INSTALL_SYSCONFDIR as given; its
# organisation.templates names the installed templates. An existing referent.yaml is kept: an
# install never overwrites an operator's configuration.
# Unit: a copy of systemd/referentd.service whose /usr/sbin/referentd, /etc/referent/ and
# /usr/share/doc/referent paths name this installation's files.
# In: REFERENT_SOURCE_DIR, REFERENT_BINARY_DIR, and the configured REFERENT_SBINDIR,
# REFERENT_SYSCONFDIR, REFERENT_DATADIR, REFERENT_DOCDIR, REFERENT_UNITDIR (relative to the
# prefix, or absolute).

string(REGEX REPLACE "/+$" "" _prefix "${CMAKE_INSTALL_PREFIX}")

function(_referent_path out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${_prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

if(NOT IS_ABSOLUTE "${REFERENT_SYSCONFDIR}" AND _prefix STREQUAL "/usr")
  set(_etc "/${REFERENT_SYSCONFDIR}/referent")
else()
  _referent_path(_etc "${REFERENT_SYSCONFDIR}/referent")
endif()
_referent_path(_sbin "${REFERENT_SBINDIR}")
_referent_path(_doc "${REFERENT_DOCDIR}")
_referent_path(_units "${REFERENT_UNITDIR}")
_referent_path(_templates "${REFERENT_DATADIR}/referent/templates")

if(EXISTS "$ENV{DESTDIR}${_etc}/referent.yaml")
  message(STATUS "Keeping: $ENV{DESTDIR}${_etc}/referent.yaml")
else()
  # The example's relative "templates" would be looked up in the service's working directory
  # (/var/lib/referent): the installed copy names the installed templates.
  file(READ "${REFERENT_SOURCE_DIR}/config/referent.yaml" _config)
  string(REGEX REPLACE "\n(  templates: )templates( |\n)" "\n\\1${_templates}\\2" _config
                       "${_config}")
  if(NOT _config MATCHES "\n  templates: ${_templates}[ \n]")
    message(FATAL_ERROR "config/referent.yaml: no \"  templates: templates\" line to point at "
                        "${_templates}")
  endif()
  set(_staged_config "${REFERENT_BINARY_DIR}/install/referent.yaml")
  file(WRITE "${_staged_config}" "${_config}")
  file(INSTALL DESTINATION "${_etc}" TYPE FILE FILES "${_staged_config}")
endif()

file(READ "${REFERENT_SOURCE_DIR}/systemd/referentd.service" _unit)
string(REPLACE "/usr/sbin/referentd" "${_sbin}/referentd" _unit "${_unit}")
string(REPLACE "/etc/referent/referent.yaml" "${_etc}/referent.yaml" _unit "${_unit}")
string(REPLACE "file:///usr/share/doc/referent/" "file://${_doc}/" _unit "${_unit}")
set(_staged "${REFERENT_BINARY_DIR}/install/referentd.service")
file(WRITE "${_staged}" "${_unit}")
file(INSTALL DESTINATION "${_units}" TYPE FILE FILES "${_staged}")
