# Demo Linux 1.0 buildroot, shared by both architectures (included by
# demo-1.0-<arch>.cfg). Read by azldev natively; mock would read it too.

config_opts['root'] = 'demo-1.0-{{ target_arch }}'
config_opts['releasever'] = '1.0'
config_opts['dist'] = 'demo1'
config_opts['package_manager'] = 'dnf'

# The setup packages of every build (mock's chroot_setup_cmd).
config_opts['chroot_setup_cmd'] = 'install bash build-essential coreutils cpio diffutils file'
config_opts['chroot_setup_cmd'] += ' findutils gawk grep gzip make patch rpm sed tar xz-utils'

config_opts['macros']['%dist'] = '.demo1'
config_opts['macros']['%vendor'] = 'Demo Linux'
config_opts['macros']['%distribution'] = 'Demo Linux'

# The toolchain seed (`azldev toolchain seed --arch <arch>`): Debian's
# packages converted into RPMs, until Demo Linux builds its own toolchain.
# `project_dir` is supplied by azldev: the directory holding distro.toml.
config_opts['dnf.conf'] = """
[main]
keepcache=0
reposdir=/dev/null
gpgcheck=0
assumeyes=1
install_weak_deps=0
best=1
obsoletes=1

[seed]
name=Demo Linux toolchain seed ($basearch)
baseurl=file://{{ project_dir }}/build/seed/$basearch/
enabled=1
gpgcheck=0
skip_if_unavailable=False
"""
